"""Catalogue entries: properties judged from the grader's side (side effects, devices, batches moved), and honest
code those judgements must not misjudge."""

from pathlib import Path

from .. import implementations as I
from ..submissions import Submission, _nb, points

TRAIN, FILTER = I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"]
TRAIN_TAGS_BATCHES = I.TRAIN_ZERO_GRAD_FIRST.replace(
    "            x, y = x.to(device), y.to(device)\n",
    "            kind = type(torch.empty(0).to(device))\n            x, y = x.as_subclass(kind), y.as_subclass(kind)\n")
assert TRAIN_TAGS_BATCHES != I.TRAIN_ZERO_GRAD_FIRST


def entries(escaped: Path, port: int, victim: Path) -> dict:
    return {
        # honest code: every point
        "cpu_detour_moved_back_to_x_device": Submission(
            "forward computes on the CPU (x.cpu()) and returns y.to(x.device): correct on a GPU",
            _nb(TRAIN, I.CPU_DETOUR_MOVED_BACK)),
        "batches_made_with_device_device": Submission(
            "train makes each batch with torch.tensor(x, device=device): moved",
            _nb(I.TRAIN_TENSOR_ON_THE_DEVICE, FILTER)),

        # side effects on the shapes another check uses
        "writes_into_x_when_2d": Submission("forward scales x in place only when x.dim() == 2",
                                            _nb(TRAIN, I.WRITES_INTO_X_WHEN_2D), points(filter_structure=1)),
        "writes_into_x_when_more_taps_than_samples": Submission(
            "forward scales x in place only when it has fewer samples than taps",
            _nb(TRAIN, I.WRITES_INTO_X_WHEN_SHORT), points(filter_structure=1)),
        "forges_an_unchanged_input_through_the_stack": Submission(
            "forward scales x in place, then copies it into the worker's own `before` through the stack",
            _nb(TRAIN, I.FORGES_AN_UNCHANGED_INPUT),
            points(filter_structure=1, filter_convergence=0)),  # (the grader's training input is halved each step)

        # a CPU tensor behind a branch on the data
        "cpu_tensor_when_the_input_is_loud": Submission(
            "forward multiplies by torch.ones(n) (on the CPU) when x.abs().max() > 1",
            _nb(TRAIN, I.CPU_TENSOR_WHEN_LOUD), points(filter_device=0)),
        "cpu_tensor_when_the_input_is_quiet": Submission(
            "forward multiplies by torch.ones(n) (on the CPU) when x.abs().max() < 0.1",
            _nb(TRAIN, I.CPU_TENSOR_WHEN_QUIET), points(filter_device=0)),

        # a batch copied without a device is not moved
        "batches_copied_with_torch_tensor": Submission("train uses torch.tensor(x) in place of x.to(device)",
                                                       _nb(I.TRAIN_TORCH_TENSOR, FILTER), points(train_device=0)),
        "batches_copied_with_as_tensor": Submission("train uses torch.as_tensor(x) in place of x.to(device)",
                                                    _nb(I.TRAIN_AS_TENSOR, FILTER), points(train_device=0)),
        "batches_tagged_with_a_moved_tensors_type": Submission(
            "train moves no batch but gives each the type a moved tensor has (the red team's: as_subclass)",
            _nb(TRAIN_TAGS_BATCHES, FILTER), points(train_device=0)),
        "batches_through_numpy": Submission("train uses torch.from_numpy(np.asarray(x)) in place of x.to(device)",
                                            _nb(I.TRAIN_NUMPY_ROUND_TRIP, FILTER), points(train_device=0)),
    }
