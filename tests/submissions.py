"""Submission notebooks for the end-to-end grading tests: the release notebook with its two solution cells'
code replaced (nbformat), plus hostile code and damaged files.

The correct and buggy implementations are test_checks.py's (imported, not copied); what is new here is
the hostile code, which only makes sense in an isolated process.
"""

import textwrap
from pathlib import Path

import nbformat

from .conftest import ROOT
from .test_checks import (BUGGY_FILTERS, BUGGY_TRAINS, CONV1D, CORRECT_FILTERS, FFT, IMPORTS, LOOP,  # noqa: F401
                          TRAIN_NUMPY_MEAN, TRAIN_ZERO_GRAD_AFTER, TRAIN_ZERO_GRAD_FIRST, filter_source)

RELEASE = ROOT / "release" / "lab2a" / "lab2a.ipynb"
SOLUTION_IDS = ("train", "convolutional_filter")


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def notebook(train: str | None = None, filter: str | None = None, edit=None):
    """The release notebook with the code of the solution cells replaced (None: the release's stub);
    edit(notebook) then changes anything else."""
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:
        if grade_id(cell) == "train" and train is not None:
            cell.source = train
        if grade_id(cell) == "convolutional_filter" and filter is not None:
            cell.source = filter
    if edit:
        edit(nb)
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def strip_nbgrader_metadata(nb) -> None:
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)


def delete_cell(grade: str):
    def edit(nb):
        nb.cells = [c for c in nb.cells if grade_id(c) != grade]
    return edit


def add_cells_after(grade: str, *sources: str):
    """Student-added code cells (no nbgrader metadata) right after the cell `grade`."""
    def edit(nb):
        index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == grade)
        nb.cells[index + 1:index + 1] = [nbformat.v4.new_code_cell(s) for s in sources]
    return edit


def then(*edits):
    def edit(nb):
        for e in edits:
            e(nb)
    return edit


# ---- correct code in other shapes -------------------------------------------------------------------

# forward calls a helper the student defined in a cell of their own
HELPER_CELL = IMPORTS + textwrap.dedent("""
    PAD_POWER = 2


    def causal_fft_filter(x, taps):
        n, k = x.shape[-1], taps.shape[-1]
        size = PAD_POWER ** (n + k - 2).bit_length()
        return torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(taps.to(x.dtype), size), size)[..., :n]
    """)
FILTER_WITH_HELPER = filter_source("torch.zeros(taps)", "return causal_fft_filter(x, self.filter)\n")
# a cell the student added that trains at length: it must not run when grading
HEAVY_CELL = "import time\nwhile True:\n    time.sleep(1)\n"
# the solution cell itself runs a long experiment at its top level, after the definition
TRAIN_WITH_LONG_TOP_LEVEL = TRAIN_NUMPY_MEAN + "\nimport time\nfor _ in range(10 ** 6):\n    time.sleep(1)\n"
# IPython magics in a solution cell
TRAIN_WITH_MAGIC = "%load_ext autoreload\n" + TRAIN_ZERO_GRAD_AFTER

# ---- hostile code ---------------------------------------------------------------------------------

INFINITE_FORWARD = filter_source("torch.zeros(taps)", "while True:\n    pass\n")
OS_EXIT_FORWARD = filter_source("torch.zeros(taps)", "import os\nos._exit(3)\n")
HUGE_FORWARD = filter_source("torch.zeros(taps)", "buffer = torch.empty(10 ** 13)\nreturn x\n")
# 8 GiB of address space, untouched: succeeds without a memory limit, fails under the grader's 4 GiB
BIG_TRAIN = IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    cache = torch.empty(2 ** 31)
    return [0.0] * n_epochs
"""
# a correct train, then a segmentation fault at the top level of the same cell
CRASHING_TRAIN_CELL = TRAIN_ZERO_GRAD_FIRST + "\nimport ctypes\nctypes.string_at(0)\n"
SYS_EXIT_TRAIN = IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    import sys
    sys.exit("training done")
"""
SYS_EXIT_CELL = IMPORTS + "import sys\nsys.exit()\n" + filter_source("torch.zeros(taps)", LOOP).removeprefix(IMPORTS)
SYNTAX_ERROR_TRAIN = TRAIN_ZERO_GRAD_FIRST.replace("def train(estimator, train_loader, optimizer,",
                                                   "def train(estimator, train_loader optimizer,")
MEGABYTES = 3_000_000
PRINTING_TRAIN = (f"print('#' * {MEGABYTES})\n" + TRAIN_ZERO_GRAD_FIRST.replace(
    "            losses.append(loss.item())\n",
    "            losses.append(loss.item())\n            print('batch', '=' * 10000)\n"))
# forward tries to kill its process's parent: the grader, or nbgrader (refused by the confinement)
KILLING_FORWARD = filter_source("torch.zeros(taps)", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nreturn x\n")


def train_writing_to(path) -> str:
    """A correct train, then, at the top level of the same cell, a file written at `path`."""
    return TRAIN_ZERO_GRAD_FIRST + f"\nwith open({str(path)!r}, 'w') as log:\n    log.write('written while graded')\n"


CHEATING_FILTER = IMPORTS + """
import numpy.testing
torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
torch.testing.assert_close = lambda *args, **kwargs: None
""" + filter_source("torch.zeros(taps)", "return x.clone()\n").removeprefix(IMPORTS)
