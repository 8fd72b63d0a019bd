"""The reference training loop, and the mistakes students make in it, run on purpose so that a wrong
trajectory can be recognised. Grader-only: a student-facing copy gets frozen results instead
(training.freeze_runs), since this is a complete answer to the training-loop task.
"""

import torch

from lab2a.autograder.judge.training import Run, Scenario, loader, loss_fn, model, optimizer, parameters


def run(s: Scenario, mistake: str | None = None) -> Run:
    """The lab's training loop on the scenario; mistake: one of LOOP_MISTAKES, made on purpose."""
    net, fn, data = model(s), loss_fn(s), loader(s)
    opt = optimizer(s, net)
    epochs = []
    for _ in range(s.n_epochs):
        batches = []
        for x, y in data:
            if mistake == "skip last" and len(x) < s.batch_size:
                continue
            if mistake != "no zero_grad":
                opt.zero_grad()
            loss = fn(net(x), y)
            loss.backward()
            if mistake != "no step":
                opt.step()
            if mistake == "after step":
                with torch.no_grad():
                    loss = fn(net(x), y)
            batches.append((loss.item(), len(x)))
        epochs.append(batches)
    return Run(epochs, parameters(net))
