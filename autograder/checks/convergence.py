"""The convergence check: the student's ConvolutionalFilter, trained by the reference loop (the grader's
own, run in the student's process), must reach the least-squares optimum of a small problem. It
fails when the taps don't learn: no gradient, a parameter the optimizer doesn't see, a forward that
is not the causal filter of its taps.
"""

import numpy as np
import torch

from lab2a.autograder.sandbox import student
from lab2a.autograder.judge.oracle import CAUSAL
from lab2a.autograder.judge.verdict import Unusable, Verdict, failed, passed

CONVERGENCE_SEED, CONVERGENCE_TAPS, CLIPS, LENGTH = 61, 8, 16, 1024
STEPS, LR = 40, 0.25
RATIO = 1.05  # the loss reached may exceed the least-squares optimum by 5%


def convergence_data() -> tuple[np.ndarray, np.ndarray]:
    """White noise in, a known 8-tap filter of it plus noise out: a well-conditioned problem, where
    full-batch gradient descent with lr 0.25 shrinks the error by ~2x per step from any start."""
    rng = np.random.default_rng([CONVERGENCE_SEED, 0])
    x = rng.standard_normal((CLIPS, 1, LENGTH)).astype(np.float32)
    h = 0.5 * rng.standard_normal(CONVERGENCE_TAPS)
    y = CAUSAL.output(h, x) + 0.1 * rng.standard_normal(x.shape)
    return x, y.astype(np.float32)


def probe_convergence(namespace: dict) -> dict:
    module = student.make_filter(namespace, CONVERGENCE_TAPS)
    taps = student.taps_tensor(module, CONVERGENCE_TAPS)
    if not any(p is taps for p in module.parameters()):
        raise Unusable("self.filter is not among ConvolutionalFilter's parameters(), so no optimizer can train "
                       "it: make it an nn.Parameter.")
    initial = taps.detach().to(torch.float64).reshape(-1).numpy().copy()
    x, y = (torch.from_numpy(a) for a in convergence_data())
    opt = torch.optim.SGD(module.parameters(), lr=LR)
    losses = []
    for _ in range(STEPS):  # the reference loop, full batch
        opt.zero_grad()
        out = student.forward(module, x)
        if not isinstance(out, torch.Tensor) or out.shape != y.shape or out.dtype != y.dtype:
            return {"output": student.summary(out, values=False)}
        loss = ((out - y) ** 2).mean()
        if not loss.requires_grad:
            return {"no_gradient": True}
        student.call("the backward pass through ConvolutionalFilter.forward", loss.backward)
        opt.step()
        losses.append(loss.item())
    return {"initial": initial, "final": taps.detach().to(torch.float64).reshape(-1).numpy().copy(),
            "losses": losses}


def judge_convergence(data: dict) -> Verdict:
    from lab2a.data import optimal_filter  # only the judge needs it

    setting = (f"Training your ConvolutionalFilter({CONVERGENCE_TAPS}) with the reference loop ({STEPS} steps "
               f"of SGD, lr {LR}, MSE) on white noise filtered by a known {CONVERGENCE_TAPS}-tap filter plus noise")
    if "output" in data:
        out = data["output"]
        return failed(f"{setting}: forward returned a {out.get('type')} of shape {tuple(out.get('shape', ()))} "
                      f"and dtype {out.get('dtype')} for a float32 input of shape {(CLIPS, 1, LENGTH)}: "
                      f"fix filter_outputs first.")
    if data.get("no_gradient"):
        return failed(f"{setting}: the loss does not depend on self.filter through torch operations, so training "
                      f"can't change the taps: fix filter_gradient first.")
    x, y = convergence_data()
    best_taps = optimal_filter(list(zip(x, y)), CONVERGENCE_TAPS)
    mse = lambda h: float(np.mean((CAUSAL.output(h, x) - y) ** 2))
    best = mse(best_taps)
    final = np.asarray(data["final"], np.float64)
    if final.shape != (CONVERGENCE_TAPS,) or not np.isfinite(final).all():
        return failed(f"{setting}: the trained taps are {list(np.round(final.ravel(), 4))}: training diverged.")
    reached = mse(final)
    if reached <= RATIO * best:
        return passed(f"trained by the reference loop, your filter reaches {reached / best:.4f}x the least-squares "
                      f"optimum's loss")
    summary = (f"{setting}: expected a loss within {RATIO}x the least-squares optimum, {best:.4g}; with the trained "
               f"taps the causal filter's loss is {reached:.4g} ({reached / best:.3g}x)")
    if np.max(np.abs(final - np.asarray(data["initial"]))) == 0:
        return failed(f"{summary}. The taps did not change during training: no gradient reaches self.filter "
                      f"(fix filter_gradient first).")
    own = data["losses"][-1]
    if own <= RATIO * best:
        return failed(f"{summary}, while the loss your forward computes fell to {own:.4g}: your forward is not the "
                      f"causal filter of its taps (fix filter_outputs first).")
    return failed(f"{summary}. The loss your forward computes went from {data['losses'][0]:.4g} to {own:.4g}: "
                  f"check that forward computes sum_k filter[k] * x[..., n-k].")


CHECKS = {
    "filter_convergence": (probe_convergence, judge_convergence),
}
