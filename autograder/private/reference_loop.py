"""The reference training loop, and the mistakes students make in it, run on purpose so that a wrong
trajectory can be recognised. Private: it is a complete answer to the lab's first task, so it runs in
the grader's process only and no student kit holds it (judge/training.py reads frozen runs there).
"""

import torch

from lab2a.autograder.judge.training import Run
from lab2a.autograder.sandbox.scenario import Scenario, loader, loss_fn, model, optimizer, parameters


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
