"""The scan for code that reaches into the interpreter (grading/reaching.py): each construct named with its line,
honest code never; and the catalogue's routes that can't be closed are named in their report's review."""

import json

import pytest

from lab2a.autograder.grading.reaching import findings

from . import implementations as I
from .catalogue import interpreter

FOUND = {
    "import gc\nOBJS = gc.get_objects()\n": (2, "gc.get_objects"),
    "import sys\nF = sys._getframe(1).f_locals\n": (2, "sys._getframe"),
    "import inspect\nS = inspect.stack()\n": (2, "inspect.stack"),
    "def f(g):\n    return g.f_back\n": (2, ".f_back"),
    "def f(t):\n    return t.tb_frame\n": (2, ".tb_frame"),
    "def f(g):\n    return g.gi_frame\n": (2, ".gi_frame"),
    "def f(g):\n    return g.f_globals\n": (2, ".f_globals"),
    "import ctypes\n": (1, "ctypes"),
    "from cffi import FFI\n": (1, "cffi"),
    "import torch\nL = torch.library.Library('aten', 'IMPL')\n": (2, "torch.library"),
    "import torch\nS = torch._C._len_torch_function_stack()\n": (2, "torch._C"),
    "from torch import nn\nH = nn.modules.module.register_module_forward_hook(print)\n": (2, "register_module_"),
    "import torch.nn.modules.module as m\nH = m._global_forward_hooks\n": (2, "_global_forward_hooks"),
    "from torch.nn.utils import parametrize\n": (1, "parametrize"),
    "import signal\nH = signal.signal(signal.SIGALRM, print)\n": (2, "signal.signal"),
    "import signal\nT = signal.setitimer(signal.ITIMER_REAL, 1)\n": (2, "signal.setitimer"),
    "import signal\nA = signal.alarm(1)\n": (2, "signal.alarm"),
    "import weakref\nF = weakref.finalize(object(), print)\n": (2, "weakref.finalize"),
    "class A:\n    def __del__(self):\n        pass\n": (2, "__del__"),
    "import atexit\nR = atexit.register(print)\n": (1, "atexit"),
    "import builtins\nbuiltins.len = lambda x: 0\n": (2, "builtins.len replaced"),
    "X = __builtins__\n": (1, "__builtins__"),
    "import sys\nT = sys.settrace(None)\n": (2, "sys.settrace"),
    "import sys\nP = sys.setprofile(None)\n": (2, "sys.setprofile"),
    "import sys\nsys.modules['torch'] = None\n": (2, "sys.modules changed"),
    "import sys\nM = sys.modules.pop('torch')\n": (2, "sys.modules changed"),
    "import importlib, torch\nT = importlib.reload(torch)\n": (2, "importlib.reload"),
    "import torch\ntorch.equal = lambda a, b: True\n": (2, "torch.equal replaced"),
    "def f(g):\n    g.__code__ = None\n": (2, ".__code__"),
    "import lab2a.autograder.sandbox.ops as ops\n": (1, "lab2a"),
    "def f(x):\n    return x.device.type == 'meta'\n": (2, "'meta'"),
    "def f(x):\n    return x.is_meta\n": (2, ".is_meta"),
    "R = exec('1')\n": (1, "exec()"),
    "%time X = 1\nimport gc\nO = gc.get_referrers(1)\n": (3, "gc.get_referrers"),
}


@pytest.mark.parametrize("source", list(FOUND))
def test_each_construct_is_named_with_its_line(source):
    line, what = FOUND[source]
    assert any(f.line == line and what in f.what for f in findings(source)), findings(source)


HONEST = [
    I.TRAIN_ZERO_GRAD_FIRST, I.TRAIN_TQDM_AUTO, I.TRAIN_LOGGING, I.TRAIN_PEEKS,
    *I.CORRECT_FILTERS.values(), *(source for source, *_ in I.BUGGY_FILTERS.values()),
    "import numpy as np\nimport gc\nN = gc.collect()\nX = np.zeros(3)\nS = f'{X.shape} on {X.dtype}'\n",
    "import torch\nfrom torch import nn\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.register_buffer('w', torch.ones(3))\n        self.device_name = f'{torch.device(\"cpu\")}'\n",
    "import torch\ntorch.backends.cudnn.deterministic = True\nD = 'cuda' if torch.cuda.is_available() else 'cpu'\n",
    "def broken(:\n",
]


@pytest.mark.parametrize("index", range(len(HONEST)))
def test_honest_code_is_never_named(index):
    assert findings(HONEST[index]) == []


def test_unclosed_routes_are_named_in_the_review(tmp_path):
    """The catalogue's entries whose route can't be closed claim the points docs/sandbox.md names, and their
    report's review names the code that does it (graded for real, through lab2a grade)."""
    from lab2a.cli import main

    for name in interpreter.UNCLOSED:
        submission = interpreter.entries(tmp_path, 0, tmp_path)[name]
        submission.build(tmp_path / name)
        out = tmp_path / f"{name}.json"
        main(["grade", str(tmp_path / name / "lab2a.ipynb"), "--json", str(out)])
        report = json.loads(out.read_text())
        check, claimed = interpreter.UNCLOSED[name]
        scores = {t["name"]: t["score"] for t in report["tests"]}
        assert scores[check] == submission.expected[check] == claimed
        assert report["review"], name
        solution = "train" if check == "train_device" else "convolutional_filter"
        assert any(item["cell"] == solution for item in report["review"])
