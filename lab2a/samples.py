"""Sample submissions: the release notebook with its two solution cells filled in, each sample named
for what it contains. The demo grades them; the tests check every channel's score on them.

The correct code is the source notebook's own solution (markers removed); each mistake is a small
edit of it, so the samples can't drift from the lab.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lab2a.autograder.grading.layout import SOLUTION_CELLS, grade_id

MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


def solutions(source: Path) -> dict[str, str]:
    """The instructor's code of each solution cell, without the solution markers."""
    notebook = nbformat.read(source, as_version=4)
    return {grade_id(c): MARKERS.sub("", c.source) for c in notebook.cells if grade_id(c) in SOLUTION_CELLS}


def replace(code: str, old: str, new: str) -> str:
    if old not in code:
        raise ValueError(f"sample edit does not apply: {old!r} is not in the solution")
    return code.replace(old, new)


def _tamper(notebook):
    """Replace a test cell's check with `pass`, as if that made the test succeed."""
    for cell in notebook.cells:
        if grade_id(cell) == "test_filter_outputs":
            cell.source = "pass"


def _delete_test(notebook):
    notebook.cells = [c for c in notebook.cells if grade_id(c) != "test_filter_impulse"]


@dataclass(frozen=True)
class Sample:
    shows: str
    code: dict = field(default_factory=dict)   # solution cell -> edit of the correct code (None: the stub)
    notebook: Callable | None = None            # an edit of the whole notebook, after the code


SAMPLES = {
    "perfect": Sample("the reference solution"),
    "blank": Sample("the release as handed out", {"train": None, "convolutional_filter": None}),
    "wraps_around": Sample("the filter wraps the end of the clip around to its start (circular FFT)", {
        "convolutional_filter": lambda code: replace(code, "size = 2 ** (n + self.taps - 2).bit_length()", "size = n"),
    }),
    "no_zero_grad": Sample("the training loop never clears the gradients", {
        "train": lambda code: replace(code, "            optimizer.zero_grad()\n", ""),
    }),
    "filter_only": Sample("the filter is done, the training loop is still the stub", {"train": None}),
    "tampered_test": Sample("wraps around, and a test cell was replaced by `pass` (nbgrader restores it)", {
        "convolutional_filter": lambda code: replace(code, "size = 2 ** (n + self.taps - 2).bit_length()", "size = n"),
    }, _tamper),
    "deleted_test": Sample("correct, with a test cell deleted (put back before grading)", {}, _delete_test),
    "exits": Sample("forward calls os._exit: each check that calls it is lost, the rest is graded", {
        "convolutional_filter": lambda code: replace(
            code, "        n = x.shape[-1]\n", "        import os\n        os._exit(1)\n"),
    }),
    "warns": Sample("correct, but forward issues a warning on stderr at every call", {
        "convolutional_filter": lambda code: replace(
            code, "        n = x.shape[-1]\n",
            "        n = x.shape[-1]\n        import warnings\n        warnings.warn(\"forward was called\")\n"),
    }),
}


def build(release: Path, source: Path, name: str):
    """The release notebook with sample `name`'s code in its solution cells."""
    notebook = nbformat.read(release, as_version=4)
    correct = solutions(source)
    sample = SAMPLES[name]
    for cell in notebook.cells:
        gid = grade_id(cell)
        if gid in SOLUTION_CELLS:
            edit = sample.code.get(gid, lambda code: code)
            if edit is not None:
                cell.source = edit(correct[gid])
    if sample.notebook:
        sample.notebook(notebook)
    return notebook


def write(release: Path, source: Path, folder: Path, names=tuple(SAMPLES)) -> list[Path]:
    """nbgrader's layout: folder/<sample>/lab2a/lab2a.ipynb for each sample."""
    paths = []
    for name in names:
        path = folder / name / "lab2a" / "lab2a.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(release, source, name), path)
        paths.append(path)
    return paths
