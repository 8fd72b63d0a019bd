"""The points manifest: every check of the lab, its task, its points and whether students see it.

The one place points are defined: nbgrader's test cells, the command-line scores and GitHub Classroom
all derive theirs from CHECKS. Hidden checks run the same kind of test on inputs students never see;
their code lives in hidden.py, which a student-facing export leaves out.
"""

from dataclasses import dataclass

TASKS = ("filter", "train")


@dataclass(frozen=True)
class Check:
    name: str         # identifier, as passed to run_in_process / check_in_notebook
    task: str         # "filter" (ConvolutionalFilter) or "train" (the training loop)
    points: int
    visible: bool     # False: hidden from students until grading
    description: str  # one line, for students


CHECKS = (
    Check("filter_structure", "filter", 2, True,
          "taps is the int given, filter is an nn.Parameter of shape (taps,), and forward leaves its input unchanged"),
    Check("filter_outputs", "filter", 4, True,
          "outputs equal the causal convolution for 1, 81 and more taps than samples, on inputs of shape (N,), "
          "(B, N), (B, 1, N) and (A, B, 1, N), in the input's shape and dtype"),
    Check("filter_impulse", "filter", 2, True,
          "impulse responses: the taps then zeros, causal, no wrap-around, no mixing of batch rows"),
    Check("filter_gradient", "filter", 2, True,
          "the gradient of a loss reaches the taps and equals the true gradient"),
    Check("filter_device", "filter", 2, True,
          "forward works on the input's device: nothing inside it is pinned to the CPU (tested on PyTorch's meta device)"),
    Check("filter_cuda", "filter", 0, True,
          "informational: the filter on a GPU, when there is one"),
    Check("hidden_filter", "filter", 2, False,
          "hidden: more filter cases (other sizes and shapes, float64)"),
    Check("train_trajectory", "train", 3, True,
          "train returns one mean loss per epoch, equal to a reference loop's, and trains the model the same way"),
    Check("train_device", "train", 1, True,
          "train moves every batch (x and y) to the given device"),
    Check("filter_convergence", "filter", 2, True,
          "your ConvolutionalFilter, trained by a reference loop, reaches the least-squares optimum"),
    Check("hidden_train", "train", 2, False,
          "hidden: train on another model, data set, optimizer and loss"),
)

BY_NAME = {check.name: check for check in CHECKS}


def check(name: str) -> Check:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no check named {name!r}; the checks are: {', '.join(BY_NAME)}") from None


def total_points(task: str | None = None, visible: bool | None = None) -> int:
    return sum(c.points for c in CHECKS
               if (task is None or c.task == task) and (visible is None or c.visible == visible))
