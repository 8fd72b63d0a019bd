"""The grader's own copy of the lab's setup cell: the names the student's cells may rely on.

The sandbox's worker starts from it instead of the notebook's setup cell (which never runs while
grading), so a submission cannot change the imports or constants the lab provides. It defines exactly
the names the release notebook's locked "setup" cell defines (a test keeps the two in step), plus
torch.nn.functional as F. plt, Audio and display are imported on first use only (matplotlib and IPython
are slow to import and rarely used by the solution cells).
"""

SETUP = '''
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, random_split

FS = 32_000
N = 32_000
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _LazyModule:
    """A module imported on first attribute access."""

    def __init__(self, load):
        self.__dict__["_load"] = load

    def __getattr__(self, name):
        return getattr(self._load(), name)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot
    return matplotlib.pyplot


def Audio(*args, **kwargs):
    from IPython.display import Audio as _Audio
    return _Audio(*args, **kwargs)


def display(*args, **kwargs):
    from IPython.display import display as _display
    return _display(*args, **kwargs)


plt = _LazyModule(_pyplot)
del _LazyModule, _pyplot
'''


def namespace() -> dict:
    """A fresh notebook namespace with the setup's names, as __main__ of a notebook."""
    import builtins
    names = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(SETUP, "<the lab's setup cell>", "exec"), names)
    return names
