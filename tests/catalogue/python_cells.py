"""Catalogue entries: cells run as Python and IPython run them: line separators, __future__ imports, magics."""

from pathlib import Path

from .. import implementations as I
from .. import submissions as S

# what str.splitlines breaks a line at and Python does not (inside a comment or a string they are part of it)
SEPARATORS = {"form_feed": "\x0c", "file_separator": "\x1c", "group_separator": "\x1d", "record_separator": "\x1e",
              "next_line": "\x85", "line_separator": "\u2028", "paragraph_separator": "\u2029"}


def _reference(task: str) -> str:
    return S._source_solutions()[task]


def with_separator(source: str, task: str, separator: str) -> str:
    """The reference solution of the task with the separator in its docstring, in a comment and in a string,
    where IPython reads the cell as Python does (IPython cuts the cell's lines with str.splitlines to find its
    magics: a separator followed by text less indented than the block that comes after it makes IPython
    raise IndentationError, in Jupyter as in the grader; see IPYTHON_REFUSES)."""
    if task == "convolutional_filter":
        edits = [('"""Causal FIR filter:', f'"""Causal FIR filter:{separator}'),
                 ("# Convolution in time is", f"# Convolution in time{separator}    return x  # is"),
                 ("        n = x.shape[-1]\n",
                  f'        n = x.shape[-1]\n        label = "one row{separator}per batch"\n')]
    else:
        edits = [('"""Train estimator for n_epochs;', f'"""Train estimator for n_epochs;{separator}'),
                 ("    history = []\n", f"    history = []  # per epoch{separator}    return [0.0]\n"),
                 ("    estimator.train()\n", f'    stage = "epoch{separator}start"\n    estimator.train()\n')]
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new, 1)
    return I.IMPORTS + source


def _hidden_behind(separator: str, visible: str, hidden: str) -> str:
    """A comment line whose text after the separator, as str.splitlines cuts it, is `hidden`, followed by the
    assignment `visible`: sliced by str.splitlines, the assignment's columns held the hidden text."""
    assert len(hidden) + 1 <= len(visible)
    return f"# my notes{separator}{hidden.ljust(len(visible) - 1)}#\n{visible}\n"


# a correct filter and loop under other names, and the names bound to them only behind a separator in a comment
HIDDEN_FILTER = (I.CORRECT_FILTERS["fft, ones"].replace("class ConvolutionalFilter(", "class _Causal(")
                 + I.BUGGY_FILTERS["roll without zeroing"][0].removeprefix(I.IMPORTS)
                 + _hidden_behind("\u2028", 'NOTE = "my filter wraps around, the checks will say so"',
                                  "ConvolutionalFilter = _Causal"))
HIDDEN_TRAIN = (I.TRAIN_ZERO_GRAD_FIRST.replace("def train(", "def _honest_train(")
                + I.BUGGY_TRAINS["no zero_grad"][0].removeprefix(I.IMPORTS)
                + _hidden_behind("\x0c", 'TRAIN_NOTE = "this loop never clears the gradients"',
                                 "train = _honest_train"))

# a separator inside a string nested in a loop: IPython reads "start" as a line of its own at column 0, and the
# `return` after the loop matches no indentation it knows; Jupyter refuses the cell (IndentationError), so does
# the grader, and it says why
IPYTHON_REFUSES = I.TRAIN_ZERO_GRAD_FIRST.replace("        losses = []\n",
                                                  '        losses = []\n        stage = "epoch\x0cstart"\n')

FUTURE = "from __future__ import annotations\n"
# an annotation naming the class itself: a NameError at definition time unless annotations are postponed
SELF_ANNOTATED_FILTER = I.filter_source("torch.ones(taps)", I.FFT).replace(
    "    def forward(self, x):", '''    def copy(self) -> ConvolutionalFilter:
        twin = ConvolutionalFilter(self.taps)
        twin.load_state_dict(self.state_dict())
        return twin

    def forward(self, x: torch.Tensor) -> torch.Tensor:''')

DECORATED_FILTER = I.IMPORTS + '''import functools
import typing

REGISTRY = {}


def registered(cls):
    REGISTRY[cls.__name__] = cls
    return cls


@typing.final
@registered
class ConvolutionalFilter(nn.Module):
    def __init__(self, taps):
        super().__init__()
        self.taps = taps
        self.filter = nn.Parameter(torch.ones(taps))

    @functools.wraps(nn.Module.forward)
    def forward(self, x):
        n = x.shape[-1]
        size = 2 ** (n + self.taps - 2).bit_length()
        spectrum = torch.fft.rfft(x, size) * torch.fft.rfft(self.filter.to(x.dtype), size)
        return torch.fft.irfft(spectrum, size)[..., :n]
'''
DECORATED_TRAIN = I.TRAIN_ZERO_GRAD_FIRST.replace("def train(", '''import functools


def logged(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        print("training starts")
        return function(*args, **kwargs)
    return wrapper


@logged
def train(''')
MAGICS_CELL = ("%load_ext autoreload\n%autoreload 2\n!pip install --quiet tqdm\nfiles = !ls\n"
               "elapsed = %time 1 + 1\nHELPER = 'kept'\n")


# the red team's: a correct filter whose helper is compiled by TorchScript (which reads its source, as IPython
# keeps each cell's), and a %%time cell with a __future__ import after other code (%%time compiles its body as
# one piece: it fails in Jupyter, so nothing of it runs)
JIT_SCRIPTED_FILTER = I.IMPORTS + """
@torch.jit.script
def causal(x, h):
    n = x.shape[-1]
    y = torch.zeros_like(x)
    for k in range(h.shape[0]):
        if k < n:
            y[..., k:] += h[k] * x[..., :n - k]
    return y


class ConvolutionalFilter(nn.Module):
    def __init__(self, taps):
        super().__init__()
        self.taps = taps
        self.filter = nn.Parameter(torch.zeros(taps))

    def forward(self, x):
        return causal(x, self.filter.to(x.dtype))
"""
LATE_FUTURE_UNDER_TIME = "%%time\n" + I.IMPORTS + "\nfrom __future__ import annotations\n\n" + \
    I.CORRECT_FILTERS["fft, ones"].removeprefix(I.IMPORTS)


def entries(escaped: Path, port: int, victim: Path) -> dict:
    filter_reference, train_reference = _reference("convolutional_filter"), _reference("train")
    found = {
        f"{name}_in_comments_strings_docstrings": S.Submission(
            f"the reference solutions with {separator!r} in a docstring, a comment and a string of each cell "
            f"(a line break for str.splitlines, not for Python)",
            S._nb(with_separator(train_reference, "train", separator),
                  with_separator(filter_reference, "convolutional_filter", separator)))
        for name, separator in SEPARATORS.items()}
    found.update({
        "code_hidden_behind_separators_in_comments": S.Submission(
            "a filter that wraps around and a loop without zero_grad, each cell with a correct one under another "
            "name bound to the real name only after a separator inside a comment (U+2028, form feed)",
            S._nb(HIDDEN_TRAIN, HIDDEN_FILTER),
            S.points(filter_outputs=0, filter_impulse=1, filter_gradient=1, hidden_filter=0, train_trajectory=0,
                     hidden_train=0)),
        "separator_ipython_cannot_read": S.Submission(
            "a form feed in a string nested in the loop of train: IPython (Jupyter) raises IndentationError on the "
            "cell, which never runs there; the filter is correct",
            S._nb(IPYTHON_REFUSES, I.CORRECT_FILTERS["fft, ones"]), S.points(train="none")),
        "future_annotations_in_the_filter_cell": S.Submission(
            "`from __future__ import annotations` at the top of the filter cell, a method annotated with the class",
            S._nb(I.TRAIN_ZERO_GRAD_FIRST, FUTURE + SELF_ANNOTATED_FILTER)),
        "future_annotations_in_an_earlier_cell_then_a_crash": S.Submission(
            "`from __future__ import annotations` alone in a cell above the train cell, a segmentation fault after "
            "train (the worker is replaced and the cells run again), the filter annotated with its own class",
            S._nb(S.CRASHING_TRAIN_CELL, SELF_ANNOTATED_FILTER, S.add_cells_after("setup", FUTURE))),
        "cell_magics_on_the_solution_cells": S.Submission(
            "%%time on the filter cell, %%capture on the train cell (IPython runs their bodies), an added cell of "
            "line magics and shell escapes (%load_ext, !pip install, files = !ls)",
            S._nb("%%capture output\n" + I.TRAIN_ZERO_GRAD_FIRST, "%%time\n" + I.CORRECT_FILTERS["conv1d, random"],
                  S.add_cells_after("train", MAGICS_CELL))),
        "timeit_on_the_filter_cell": S.Submission(
            "%%timeit on the filter cell: IPython runs the class statement inside its timing loop, so the notebook "
            "never has ConvolutionalFilter (its test cells fail in Jupyter too)",
            S._nb(I.TRAIN_ZERO_GRAD_FIRST, "%%timeit -n 1 -r 1\n" + I.CORRECT_FILTERS["fft, ones"]),
            S.points(filter="none")),
        "decorated_class_and_train": S.Submission(
            "the filter class under two decorators (one from typing, one of the student's), forward wrapped by "
            "functools.wraps, train under a logging decorator",
            S._nb(DECORATED_TRAIN, DECORATED_FILTER)),
        "torchscript_helper": S.Submission(
            "a correct forward calling a helper decorated with @torch.jit.script (TorchScript reads its source)",
            S._nb(I.TRAIN_ZERO_GRAD_FIRST, JIT_SCRIPTED_FILTER)),
        "late_future_import_under_time": S.Submission(
            "%%time over a correct filter cell with `from __future__ import annotations` after its imports: "
            "%%time compiles the body as one piece, which fails in Jupyter, so the class is never defined",
            S._nb(I.TRAIN_ZERO_GRAD_FIRST, LATE_FUTURE_UNDER_TIME), S.points(filter="none")),
    })
    return found
