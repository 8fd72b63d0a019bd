"""The convergence check: the student's ConvolutionalFilter, trained by the grader, must reach the
least-squares optimum of a small problem. It fails when the taps don't learn: no gradient, a forward
that is not the causal filter of its taps, or one whose result depends on earlier calls.

The training loop is the grader's and runs in the grader's process: each step, the sandbox sets the
taps the grader sends, computes the loss and its gradient with the student's forward, and sends them
back; the grader takes the SGD step (in float32, as torch.optim.SGD does). So no training loop is
ever in the student's process, where a student's train could reach it.
"""

import secrets

import numpy as np

from lab2a.autograder.judge.oracle import CAUSAL
from lab2a.autograder.judge.verdict import Failed, data_of

SEED, TAPS, CLIPS, LENGTH = 61, 8, 16, 1024
STEPS, LR = 20, 0.25   # 20 steps reach the optimum to 1e-9 here; the bound allows 5%
RATIO = 1.05  # the loss reached may exceed the least-squares optimum by 5%


def convergence_data(key: int) -> tuple[np.ndarray, np.ndarray]:
    """White noise in, a known 8-tap filter of it plus noise out: a well-conditioned problem, where
    full-batch gradient descent with lr 0.25 shrinks the error by ~2x per step from any start."""
    rng = np.random.default_rng([SEED, 0, key])
    x = rng.standard_normal((CLIPS, 1, LENGTH)).astype(np.float32)
    h = 0.5 * rng.standard_normal(TAPS)
    y = CAUSAL.output(h, x) + 0.1 * rng.standard_normal(x.shape)
    return x, y.astype(np.float32)


SETTING = (f"Training your ConvolutionalFilter({TAPS}) step by step ({STEPS} steps of gradient descent, lr {LR}, "
           f"MSE, taps starting at zero) on white noise filtered by a known {TAPS}-tap filter plus noise")


def _step(ask, handle: str, h: np.ndarray, x, y, first: bool) -> dict:
    args = {"handle": handle, "taps": TAPS, "h": h}
    if first:
        args.update(x=x, y=y)
    data = data_of(ask("filter_step", **args))
    if "output" in data:
        out = data["output"]
        raise Failed(f"{SETTING}: forward returned a {out.get('type')} of shape {tuple(out.get('shape', ()))} and "
                     f"dtype {out.get('dtype')} for a float32 input of shape {(CLIPS, 1, LENGTH)}: fix filter_outputs "
                     f"first.", cause="unusable-output")
    if data.get("no_gradient"):
        raise Failed(f"{SETTING}: the loss does not depend on self.filter through torch operations, so training can't "
                     f"change the taps: fix filter_gradient first.", cause="graph-cut")
    if not data.get("registered"):
        raise Failed(f"{SETTING}: self.filter is not among ConvolutionalFilter's parameters(), so no optimizer can "
                     f"train it: make it an nn.Parameter.", cause="filter-not-registered")
    if data.get("grad") is None:
        raise Failed(f"{SETTING}: no gradient reached self.filter: fix filter_gradient first.", cause="no-gradient")
    if np.max(np.abs(np.asarray(data["taps_after"]) - h.astype(np.float64))) != 0:
        raise Failed(f"{SETTING}: forward changed self.filter while it ran, so training can't control the taps: "
                     f"forward must only read them.", cause="changes-taps")
    return data


def convergence(ask, key, memo) -> None:
    from lab2a.data import optimal_filter  # grader side only: the data builder's least-squares solver

    x, y = convergence_data(key)
    h = np.zeros(TAPS, np.float32)
    handle = secrets.token_hex(8)   # a new module for each run of the check
    losses = []
    for step in range(STEPS):
        data = _step(ask, handle, h, x, y, first=step == 0)
        grad = np.asarray(data["grad"], np.float64)
        if grad.shape != (TAPS,) or not np.isfinite(grad).all() or not np.isfinite(data["loss"]):
            raise Failed(f"{SETTING}: at step {step + 1} the gradient of the taps was {np.round(grad.ravel()[:8], 4)}: "
                         f"training diverged.", cause="training-diverged")
        losses.append(float(data["loss"]))
        h = (h - np.float32(LR) * grad.astype(np.float32)).astype(np.float32)
    best_taps = optimal_filter(list(zip(x, y)), TAPS)

    def mse(taps):
        return float(np.mean((CAUSAL.output(taps, x) - y) ** 2))
    best, reached = mse(best_taps), mse(h)
    if reached <= RATIO * best:
        return
    summary = (f"{SETTING}: expected a loss within {RATIO}x the least-squares optimum, {best:.4g}; with the trained "
               f"taps the causal filter's loss is {reached:.4g} ({reached / best:.3g}x)")
    if losses[-1] <= RATIO * best:
        raise Failed(f"{summary}, while the loss your forward computes fell to {losses[-1]:.4g}: your forward is not "
                     f"the causal filter of its taps (fix filter_outputs first).", cause="learns-another-filter")
    raise Failed(f"{summary}. The loss your forward computes went from {losses[0]:.4g} to {losses[-1]:.4g}: check "
                 f"that forward computes sum_k filter[k] * x[..., n-k] and that its gradient is right.",
                 cause="does-not-converge")


PARTS = {"filter_convergence": {"convergence": convergence}}
