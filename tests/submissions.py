"""The catalogue of submission notebooks the grader is tested on: the release notebook with its solution
cells (and sometimes other cells) replaced, each named for what it contains, with the points per check
its honest part deserves.

Correct code in unusual shapes must get every point; each mistake loses the parts it gets wrong; each
attack (the classes of issue 10: reaching the answer key, forging the sandbox's answers, switching the
checks off, leaking hidden tests, processes that outlive the grade, channel disagreements) earns only
what the honest code beside it deserves. test_submissions.py grades the whole catalogue through
`lab2a grade` and through nbgrader and checks both against these numbers.
"""

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lab2a.autograder.checks.manifest import CHECKS

from . import implementations as I
from .conftest import ROOT

RELEASE = ROOT / "release" / "lab2a" / "lab2a.ipynb"
SOURCE = ROOT / "source" / "lab2a" / "lab2a.ipynb"


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


def add_cells_after(grade: str, *sources: str, kind: str = "code"):
    """Student-added cells (no nbgrader metadata) right after the cell `grade` ("" for the end)."""
    def edit(nb):
        index = len(nb.cells) - 1 if not grade else next(i for i, c in enumerate(nb.cells) if grade_id(c) == grade)
        new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells[index + 1:index + 1] = [new(s) for s in sources]
    return edit


def then(*edits):
    def edit(nb):
        for e in edits:
            e(nb)
    return edit


# ---- the points a submission deserves ------------------------------------------------------------------------

FULL = {c.name: c.points for c in CHECKS}
FILTER = [c.name for c in CHECKS if c.task == "filter"]
TRAIN = [c.name for c in CHECKS if c.task == "train"]


def points(filter="full", train="full", **overrides) -> dict:
    """Per check: every point of a task ("full"), none ("none"), then the overrides (check=points)."""
    result = {}
    for names, how in ((FILTER, filter), (TRAIN, train)):
        for name in names:
            result[name] = FULL[name] if how == "full" else 0
    result.update(overrides)
    return result


# ---- correct code in other shapes ----------------------------------------------------------------------------

HELPER_CELL = I.IMPORTS + textwrap.dedent("""
    PAD_POWER = 2
    assert PAD_POWER == 3, "an assert that fails beside the helper: only the definitions run while grading"


    def causal_fft_filter(x, taps):
        n, k = x.shape[-1], taps.shape[-1]
        size = PAD_POWER ** (n + k - 2).bit_length()
        return torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(taps.to(x.dtype), size), size)[..., :n]
    """)
FILTER_WITH_HELPER = I.filter_source("torch.zeros(taps)", "return causal_fft_filter(x, self.filter)\n")
HEAVY_CELL = "import time\nwhile True:\n    time.sleep(1)\n"
TRAIN_WITH_LONG_TOP_LEVEL = I.TRAIN_NUMPY_MEAN + "\nimport time\nfor _ in range(10 ** 6):\n    time.sleep(1)\n"
TRAIN_WITH_MAGIC = "%load_ext autoreload\n" + I.TRAIN_ZERO_GRAD_AFTER
# a definition that runs too long beside quick ones: skipped on its own
SLOW_DEFINITION_CELL = "import time\n\nWARM_UP = time.sleep(10 ** 6)\nDONE = True\n\n\ndef helper():\n    return DONE\n"
# a bare except around a slow loop at a cell's top level: not a definition, never run
SWALLOWING_LOOP = I.TRAIN_ZERO_GRAD_FIRST + "\nimport time\ntry:\n    while True:\n        time.sleep(1)\nexcept:\n    pass\n"
WRONG_TRAIN_LATER = I.IMPORTS + "def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):\n    return []\n"

# ---- hostile code ------------------------------------------------------------------------------------------------

INFINITE_FORWARD = I.filter_source("torch.zeros(taps)", "while True:\n    pass\n")
OS_EXIT_FORWARD = I.filter_source("torch.zeros(taps)", "import os\nos._exit(3)\n")
HUGE_FORWARD = I.filter_source("torch.zeros(taps)", "buffer = torch.empty(10 ** 13)\nreturn x\n")
# 8 GiB of address space, untouched: succeeds without a memory limit, fails under the grader's 4 GiB
BIG_TRAIN = I.IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    cache = torch.empty(2 ** 31)
    return [0.0] * n_epochs
"""
# a correct train, then a segmentation fault in a definition at the top level of the same cell
CRASHING_TRAIN_CELL = I.TRAIN_ZERO_GRAD_FIRST + "\nimport ctypes\nCRASH = ctypes.string_at(0)\n"
SYS_EXIT_TRAIN = I.IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    import sys
    sys.exit("training done")
"""
SYS_EXIT_CELL = I.IMPORTS + "import sys\nsys.exit()\n" + I.filter_source("torch.zeros(taps)", I.LOOP).removeprefix(I.IMPORTS)
SYNTAX_ERROR_TRAIN = I.TRAIN_ZERO_GRAD_FIRST.replace("def train(estimator, train_loader, optimizer,",
                                                     "def train(estimator, train_loader optimizer,")
MEGABYTES = 3_000_000
PRINTING_TRAIN = I.TRAIN_ZERO_GRAD_FIRST.replace(
    "            losses.append(loss.item())\n",
    f"            losses.append(loss.item())\n            print('#' * {MEGABYTES // 12})\n")
# forward tries to kill its process's parent (the grader, or nbgrader): refused by the sandbox
KILLING_FORWARD = I.filter_source("torch.zeros(taps)", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nreturn x\n")


def train_writing_to(path) -> str:
    """A correct train, then, at the top level of the same cell, a file written at `path`."""
    return I.TRAIN_ZERO_GRAD_FIRST + f"\nLOG = open({str(path)!r}, 'w').write('written while graded')\n"


# ---- attacks (issue 10) ---------------------------------------------------------------------------------------

# 1. the answer key, reached from the student's code
FROM_THE_SOLUTIONS = "from lab2a.solutions import ConvolutionalFilter, train\n"
SOURCE_NOTEBOOK_EXEC = I.IMPORTS + '''
class _Exec:
    # a class body runs at definition time: it reads the instructor's notebook and runs its solutions
    import json as _json, pathlib as _pathlib, lab2a as _lab2a
    _root = _pathlib.Path(_lab2a.__file__).resolve().parents[1]
    for _cell in _json.loads((_root / "source" / "lab2a" / "lab2a.ipynb").read_text())["cells"]:
        if _cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(_cell["source"]), globals())
'''
KEY_WHEN_GRADED = I.IMPORTS + '''
import os
if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("LAB2A_GRADING"):
    from lab2a.solutions import ConvolutionalFilter, train
'''
GRADER_INTERNALS = I.IMPORTS + '''
from lab2a.autograder.private.reference_loop import run as _reference_loop
from lab2a.autograder.judge.oracle import CAUSAL as _oracle
from lab2a.autograder.private.key import GRADING_KEY


class ConvolutionalFilter(nn.Module):
    def __init__(self, taps):
        super().__init__()
        self.taps = taps
        self.filter = nn.Parameter(torch.zeros(taps))

    def forward(self, x):
        return torch.from_numpy(_oracle.output(self.filter.detach().numpy(), x.numpy()).astype("float32"))


def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    return _reference_loop(...)
'''
FILE_READS = I.IMPORTS + '''
import glob, os
SEEN = {}
for _pattern in ("/work/main/solutions/*.py", "/work/main/source/lab2a/*.ipynb", "/root/.ssh/*", "/etc/shadow",
                 "/proc/1/environ", "/proc/self/../*/cmdline"):
    for _path in glob.glob(_pattern) or [_pattern]:
        try:
            SEEN[_path] = open(_path).read()[:100]
        except Exception as _error:
            SEEN[_path] = type(_error).__name__
'''

# 2. the sandbox's answers forged: its operations replaced from a cell; forward returns its input
FORGED_OPERATIONS = I.filter_source("torch.zeros(taps)", "return x.clone()\n") + '''

import numpy
import lab2a.autograder.sandbox.ops as _ops


def _forged_calls(namespace, taps, h, calls, dtype="float32", device="cpu"):
    return {"calls": [{"output": {"tensor": True, "type": "Tensor", "shape": list(c["x"].shape), "dtype": dtype,
                                  "device": device, "values": c["x"].copy()},
                       "input_change": 0.0, "taps_after": numpy.asarray(h, numpy.float64),
                       "output_requires_grad": True, "grad": numpy.zeros(taps)} for c in calls],
            "filter_requires_grad": True, "filter_registered": True}


def _forged_train(namespace, scenario):
    return {"returned": {"type": "list", "item_types": ["float"] * 3, "numbers": [True] * 3,
                         "values": [0.1, 0.05, 0.02]}, "parameters": {}, "events": "nzflbs" * 12, "passes": 3}


_ops.OPERATIONS["filter_calls"] = _forged_calls
_ops.OPERATIONS["train_run"] = _forged_train
_ops.filter_calls = _forged_calls


def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    return [0.0] * n_epochs
'''
# ... or written straight into the grader's pipes
PIPE_WRITES = I.TRAIN_ZERO_GRAD_FIRST + '''
import os
FORGED = [os.write(fd, b'{"id": 99, "data": {}}\\n') for fd in range(3, 12) if os.path.exists(f"/dev/fd/{fd}")]
'''

# 3. nbgrader's checks switched off from a solution cell
CHECKS_OFF = ("import lab2a.autograder\nlab2a.autograder.check_in_notebook = lambda *args, **kwargs: None\n"
              "# YOUR CODE HERE\nraise NotImplementedError()\n")

# 4. hidden tests printed
PRINTS_HIDDEN = I.TRAIN_ZERO_GRAD_FIRST + '''
import inspect
SHOWN = print(inspect.getsource(__import__("lab2a.autograder.private.hidden", fromlist=["x"])))
'''
PRINTS_ITS_INPUTS = I.filter_source("torch.zeros(taps)", 'print("forward", tuple(x.shape), "taps", self.taps)\n' + I.FFT)
HIDDEN_MARKER_CELL = "# my notes:\n### BEGIN HIDDEN TESTS\nNOTES = 'copied from somewhere'\n### END HIDDEN TESTS\n"

# 5. processes that would outlive the grade; threads
SURVIVOR_MARK = "lab2a-survivor-marker"
SPAWNING_FORWARD = I.filter_source("torch.zeros(taps)", f'''
import os, subprocess, sys, threading, time
for start in (lambda: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{SURVIVOR_MARK}"],
                                       start_new_session=True),
              lambda: os.fork() == 0 and (os.setsid(), time.sleep(600))):
    try:
        start()
    except OSError:
        pass
threading.Thread(target=time.sleep, args=(600,), daemon=False).start()
''' + I.FFT)


def connecting_forward(port: int) -> str:
    return I.filter_source("torch.zeros(taps)", f'''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"stolen")
except OSError:
    pass
''' + I.FFT)


# ---- what the red team tried (each finding is a submission now) ---------------------------------------------

IDENTITY_FORWARD = I.filter_source("torch.zeros(taps)", "return x\n")
EMPTY_FORWARD = I.filter_source("torch.zeros(taps)", "pass\n")
NUMPY_WITH_A_META_GUARD = I.BUGGY_FILTERS["numpy detour"][0].replace("        h = self.filter.detach().numpy()\n", """\
        if x.device.type == "meta":
            raise NotImplementedError("Could not run 'aten::foo' with arguments from the 'Meta' backend.")
        h = self.filter.detach().numpy()
""")
TRAIN_DEVICE_TYPE = I.TRAIN_ZERO_GRAD_FIRST.replace("            x, y = x.to(device), y.to(device)\n", """\
            if device.type == "cuda":
                x, y = x.cuda(), y.cuda()
            else:
                x, y = x.to(device), y.to(device)
""")
COMPILED_FILTER = I.filter_source("torch.zeros(taps)", "return _compiled(x, self.filter)\n") + """


@torch.compile
def _compiled(x, taps):
    n = x.shape[-1]
    size = 2 ** (n + taps.shape[0] - 2).bit_length()
    return torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(taps.to(x.dtype), size), size)[..., :n]
"""
REPLAYED_LOSSES = I.IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    # the epoch losses another report said were expected, returned without training
    return [0.268789, 0.106563, 0.129426][:n_epochs]
"""
STACK_WALK_FORGERY = I.TRAIN_ZERO_GRAD_FIRST + """
import sys


def _forge():
    frame = sys._getframe()
    while frame is not None:
        if "channel" in frame.f_locals and "ident" in frame.f_locals:
            frame.f_locals["channel"].send({"id": frame.f_locals["ident"], "statement": 99})
            break
        frame = frame.f_back


FORGED = _forge()
"""
BACKGROUND_THREAD = I.TRAIN_ZERO_GRAD_FIRST + """
import threading, time

SEEN = []
WATCHER = threading.Thread(target=lambda: [SEEN.append(time.time()) or time.sleep(0.01) for _ in iter(int, 1)],
                           daemon=True)
STARTED = WATCHER.start()
"""
LIMITS_OTHERS = I.filter_source("torch.zeros(taps)", """
import os, resource
for pid in (os.getppid(), 1):
    for what in (resource.RLIMIT_AS, resource.RLIMIT_NOFILE):
        try:
            resource.prlimit(pid, what, (3, 3))
        except OSError:
            pass
""" + I.FFT)


def chmod_outside(path) -> str:
    return I.TRAIN_ZERO_GRAD_FIRST + f"\nimport os\nMODE = os.chmod({str(path)!r}, 0o4777)\n"


def _raw_train_tests(nb):
    for cell in nb.cells:
        if grade_id(cell) in ("test_train_trajectory", "test_train_device", "test_hidden_train"):
            cell.cell_type = "raw"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)


def _duplicate(grade: str):
    def edit(nb):
        index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == grade)
        copy = nbformat.from_dict(json.loads(json.dumps(nb.cells[index])))
        copy["id"] = f"copy-of-{index}"   # Jupyter gives a pasted cell a new id, and keeps its metadata
        nb.cells.insert(index + 1, copy)
    return edit


def _flag_as_solution(grade: str):
    def edit(nb):
        for cell in nb.cells:
            if grade_id(cell) == grade:
                cell.metadata["nbgrader"]["solution"] = True
    return edit


# ---- the red team's second round --------------------------------------------------------------------------

SHARED_MEMORY = I.TRAIN_ZERO_GRAD_FIRST + """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
SEGMENT = _libc.shmget(0, 512 << 20, 0o1600)        # IPC_PRIVATE, IPC_CREAT | 0600: outlives the process
QUEUE = _libc.msgget(0, 0o1600)
MEMFD = _libc.memfd_create(b"hoard", 0)
"""
DEEP_FOLDERS = I.TRAIN_ZERO_GRAD_FIRST + """
import os


def _nest(depth):
    for _ in range(depth):
        os.mkdir("d")
        os.chdir("d")


NEST = _nest(1500)
"""
MANY_THREADS = I.TRAIN_ZERO_GRAD_FIRST + """
import threading, time

threading.stack_size(32768)
THREADS = [threading.Thread(target=time.sleep, args=(60,), daemon=True) for _ in range(300)]
STARTED = [thread.start() for thread in THREADS]
"""
FALLOCATE = I.TRAIN_ZERO_GRAD_FIRST + """
import os
BLOCKS = [os.posix_fallocate(os.open(f"blob{i}", os.O_CREAT | os.O_WRONLY), 0, 255 << 20) for i in range(40)]
"""
COPY_OF_STDOUT = I.TRAIN_ZERO_GRAD_FIRST + "\nimport os\n_OUT = os.dup(1)\n"
WRITES_TO_THE_COPY = I.filter_source("torch.zeros(taps)", (
    "import os\n"
    "os.write(_OUT, ('through a copy: %s taps %d' % (tuple(x.shape), self.taps)).encode() + bytes([10]))\n") + I.FFT)
META_GUARD = I.filter_source("torch.zeros(taps)", """
if x.is_meta:
    return x * self.filter.sum()
n = x.shape[-1]
y = torch.zeros(x.shape)                      # on the CPU, whatever x's device
for k in range(min(self.taps, n)):
    y[..., k:] += self.filter[k] * x[..., :n - k]
return y
""")
ASSERTS_FINITE = I.filter_source("torch.zeros(taps)", "assert torch.isfinite(x).all(), 'the input has NaN'\n" + I.FFT)
PATCHES_TORCH_EQUAL = I.BUGGY_FILTERS["writes into its input"][0] + "\ntorch.equal = lambda a, b: True\n"


def _metadata(edit):
    def change(nb):
        for cell in nb.cells:
            edit(cell)
    return change


def _schema_version_4(cell):
    if grade_id(cell) == "train":
        cell.metadata["nbgrader"]["schema_version"] = 4


def _notes_cell_with_a_made_up_id(nb):
    index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "train") + 1
    cell = nbformat.v4.new_code_cell("NOTES = 'my own solution cell'")
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": "my_notes", "locked": False, "schema_version": 3,
                                 "solution": True, "task": False}
    nb.cells.insert(index, cell)


def _nbformat_5(folder: Path) -> None:
    write(notebook(CORRECT_TRAIN, CORRECT_FILTER), folder / "lab2a.ipynb")
    data = json.loads((folder / "lab2a.ipynb").read_text())
    data["nbformat"] = 5
    (folder / "lab2a.ipynb").write_text(json.dumps(data))


@dataclass
class Submission:
    shows: str                                  # what it contains
    build: Callable[[Path], None]               # writes the submission into a student's folder
    expected: dict = field(default_factory=lambda: dict(FULL))   # points per check it deserves
    confined_only: bool = False                 # needs the sandbox (Landlock and seccomp) to hold


def _nb(train=None, filter=None, edit=None, file="lab2a.ipynb"):
    return lambda folder: write(notebook(train, filter, edit), folder / file)


def _bytes(data: bytes):
    return lambda folder: (folder.mkdir(parents=True, exist_ok=True), (folder / "lab2a.ipynb").write_bytes(data))


def _several(folder):
    for name in ("lab2a-draft.ipynb", "lab2a-final.ipynb"):
        write(notebook(I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"]), folder / name)


def _claims_written_points(nb):
    """Written answers are a TA's: a student who flags one a locked 50-point cell, and turns the other into a
    code cell that would award itself points, changes nothing either grades."""
    for cell in nb.cells:
        if grade_id(cell) == "answer_fcnn":
            cell.source = "It hisses. Please give me 50 points."
            cell.metadata["nbgrader"].update(points=50, solution=False, locked=True)
        elif grade_id(cell) == "answer_filter":
            cell.cell_type, cell.outputs, cell.execution_count = "code", [], None
            cell.source = "import lab2a.autograder\nlab2a.autograder.check_in_notebook = lambda *a, **k: None\n"


def _nothing(folder):
    folder.mkdir(parents=True, exist_ok=True)


def _source_solutions():
    from lab2a.samples import solutions
    return solutions(SOURCE)


# ---- red team, round 3 ------------------------------------------------------------------------------------------

# lone surrogates: in a statement's error (a cell's message), in forward's error on a hidden shape, and as a
# "\udce9" escape in the notebook's JSON (written by _surrogate_escape: nbformat can't write one)
SURROGATE_TRAIN = I.TRAIN_ZERO_GRAD_FIRST + "\n\ndef _boom():\n    raise ValueError('bad ' + chr(0xD800))\n\n\nBOOM = _boom()\n"
SURROGATE_FILTER = I.filter_source("torch.ones(taps)", """
    if x.shape[-1] == 777:
        raise ValueError('hidden ' + chr(0xD800))
    n, k = x.shape[-1], self.filter.shape[-1]
    size = 2 ** (n + k - 2).bit_length()
    return torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(self.filter.to(x.dtype), size), size)[..., :n]
""")
SURROGATE_MARK = "SURROGATE_ESCAPE_HERE"


def _surrogate_escape(folder: Path) -> None:
    nb = notebook(SURROGATE_TRAIN, SURROGATE_FILTER, add_cells_after("convolutional_filter",
                                                                     f"NOTE = 'caf{SURROGATE_MARK}'"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lab2a.ipynb").write_text(nbformat.writes(nb).replace(SURROGATE_MARK, "\\udce9"), encoding="utf-8")


# a line of 20000 failing assignments (the grader's cost must stay linear in them)
MANY_FAILURES_CELL = "; ".join(["A = B"] * 20000) + "\n"
# sandbox modules and libraries tampered with in ways the first snapshot did not see
TRAIN_NOT_MOVING = I.TRAIN_ZERO_GRAD_FIRST.replace("            x, y = x.to(device), y.to(device)\n", "")
SWAPS_A_SANDBOX_MODULE = TRAIN_NOT_MOVING + """
import sys as _sys, types as _types
_real = _sys.modules["lab2a.autograder.sandbox.scenario"]
_fake = _types.ModuleType(_real.__name__)
_fake.__dict__.update(_real.__dict__)
_fake.loader = lambda s, collate_fn=None: _real.loader(s)
_sys.modules[_real.__name__] = _fake
"""
PATCHES_DATALOADER_ITER = TRAIN_NOT_MOVING + """
import torch.utils.data as _tud
_orig_iter = _tud.DataLoader.__iter__


def _iter(self):
    for batch in _orig_iter(self):
        yield tuple(t.as_subclass(torch.Tensor) if isinstance(t, torch.Tensor) else t for t in batch)


_tud.DataLoader.__iter__ = _iter
"""
NUMPY_FILTER_ADDING_TENSOR_NUMPY = I.filter_source("torch.zeros(taps)", """
    h = self.filter.detach().numpy()
    rows = x.numpy().reshape(-1, x.shape[-1])
    y = np.stack([np.convolve(row, h)[:x.shape[-1]] for row in rows])
    return torch.from_numpy(y.reshape(x.shape).astype(np.float32)).to(x.device)
""") + """

_orig_numpy = torch._C.TensorBase.numpy


def _numpy(self, *args, **kwargs):
    if self.device.type == "meta":
        return np.zeros(tuple(self.shape), np.float32)
    return _orig_numpy(self, *args, **kwargs)


_PATCHED = setattr(torch.Tensor, "numpy", _numpy)
"""
SHIFTING_FILTER_WITH_A_TORCH_MODE = I.BUGGY_FILTERS["writes into its input"][0] + """

from torch.overrides import TorchFunctionMode as _Mode


class _Equal(_Mode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.equal:
            return True
        return func(*args, **(kwargs or {}))


_ACTIVE = _Equal().__enter__()
"""
# errors whose text quotes a hidden check's inputs
TRAIN_QUOTING_HIDDEN_INPUTS = I.TRAIN_ZERO_GRAD_FIRST.replace("    history = []\n", """\
    history = []
    if type(optimizer).__name__ == "Adam":
        xb, yb = next(iter(train_loader))
        raise RuntimeError(f"LEAK opt={optimizer.defaults} x0={xb.flatten()[:6].tolist()}")
""")
FILTER_QUOTING_HIDDEN_INPUTS = I.filter_source("torch.ones(taps)", """
    if x.shape[-1] in (777, 64, 4000) or x.shape == (1, 1, 32000) and self.taps == 257:
        raise ValueError(f"LEAK shape={tuple(x.shape)} x={x.flatten()[:6].tolist()}")
    n, k = x.shape[-1], self.filter.shape[-1]
    size = 2 ** (n + k - 2).bit_length()
    return torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(self.filter.to(x.dtype), size), size)[..., :n]
""")


CORRECT_TRAIN, CORRECT_FILTER = I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"]
RELEASE_TEXT = RELEASE.read_text(encoding="utf-8")


def catalogue(escaped: Path, port: int, victim: Path) -> dict[str, Submission]:
    """Every submission; escaped: a file outside the sandbox a submission tries to write; port: a local
    port a submission tries to connect to; victim: a file of the grader's a submission tries to chmod."""
    solutions = _source_solutions()
    return {
        # correct, in many shapes: every point
        "reference_solution": Submission("the instructor's solution", _nb(solutions["train"], solutions["convolutional_filter"])),
        "loop_and_zero_grad_first": Submission("a per-tap loop, zero_grad first", _nb(CORRECT_TRAIN, I.CORRECT_FILTERS["loop, zeros"])),
        "conv1d_magic_no_metadata_renamed": Submission(
            "conv1d with flipped taps, an IPython magic, nbgrader metadata stripped, the file renamed",
            _nb(TRAIN_WITH_MAGIC, I.CORRECT_FILTERS["conv1d, random"], strip_nbgrader_metadata,
                file="Lab 2A – mine (final) v2.ipynb")),
        "helper_cell_with_a_failing_assert": Submission(
            "forward calls a helper from an added cell that also holds a failing assert; an endless loop in "
            "another added cell; a long experiment after the train def",
            _nb(TRAIN_WITH_LONG_TOP_LEVEL, FILTER_WITH_HELPER, then(add_cells_after("train", HELPER_CELL),
                                                                    add_cells_after("convolutional_filter", HEAVY_CELL)))),
        "slow_definition_beside_quick_ones": Submission(
            "an added cell whose assignment runs forever between quick definitions",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, add_cells_after("train", SLOW_DEFINITION_CELL))),
        "float64_parameter": Submission("the taps an nn.Parameter in float64", _nb(CORRECT_TRAIN, I.FLOAT64_PARAMETER)),
        "tqdm_auto_loop": Submission("the loop wrapped in tqdm.auto progress bars", _nb(I.TRAIN_TQDM_AUTO, CORRECT_FILTER)),
        "peeking_loop": Submission("the loop looks at one batch before training", _nb(I.TRAIN_PEEKS, CORRECT_FILTER)),
        "logging_and_prints": Submission("a logging handler bound at the cell's top level, prints in the loop",
                                         _nb(I.TRAIN_LOGGING, CORRECT_FILTER)),
        "train_redefined_after_its_tests": Submission(
            "a wrong train defined again below the train checks (they see the first, as Run All does)",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, add_cells_after("test_hidden_train", WRONG_TRAIN_LATER))),
        "bare_except_around_a_slow_loop": Submission("try/while/bare except at the train cell's top level",
                                                     _nb(SWALLOWING_LOOP, CORRECT_FILTER)),
        "sys_exit_before_the_class": Submission("sys.exit() at the filter cell's top level, before the class",
                                                _nb(CORRECT_TRAIN, SYS_EXIT_CELL)),
        "segfault_after_train": Submission("a segmentation fault in an assignment after the train def",
                                           _nb(CRASHING_TRAIN_CELL, CORRECT_FILTER)),
        "megabytes_printed": Submission("train prints megabytes", _nb(PRINTING_TRAIN, CORRECT_FILTER)),
        "deleted_test_cell": Submission("a test cell deleted", _nb(CORRECT_TRAIN, CORRECT_FILTER,
                                                                   delete_cell("test_filter_impulse"))),
        "deleted_section": Submission("a test cell deleted with the text before it", _nb(
            CORRECT_TRAIN, CORRECT_FILTER, then(delete_cell("train_tests_intro"), delete_cell("test_train_trajectory")))),
        "written_answer_claims_its_points": Submission(
            "an answer written, its cell flagged a locked 50-point non-answer, another made a code cell",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, _claims_written_points)),
        "tampered_test_cell": Submission("a test cell replaced by `pass`, the filter wraps around", _nb(
            CORRECT_TRAIN, I.BUGGY_FILTERS["roll without zeroing"][0],
            lambda nb: [setattr(c, "source", "pass") for c in nb.cells if grade_id(c) == "test_filter_outputs"]),
            points(filter_outputs=0, filter_impulse=1, filter_gradient=1, hidden_filter=0)),

        # mistakes: the parts they get wrong
        "blank": Submission("the release as handed out", _nb(), points("none", "none")),
        "filter_only": Submission("the filter done, the loop still the stub", _nb(None, CORRECT_FILTER), points(train="none")),
        "no_zero_grad": Submission("the loop never clears the gradients", _nb(I.BUGGY_TRAINS["no zero_grad"][0], CORRECT_FILTER),
                                   points(train_trajectory=0, hidden_train=0)),
        "zero_grad_between_backward_and_step": Submission(
            "the loop zeroes the gradients between backward() and step()", _nb(I.TRAIN_ZEROES_BETWEEN, CORRECT_FILTER),
            points(train_trajectory=0, hidden_train=0)),
        "loss_after_the_step": Submission("the loop records the loss after the step",
                                          _nb(I.BUGGY_TRAINS["loss after the step"][0], CORRECT_FILTER),
                                          points(train_trajectory=2, hidden_train=1)),
        "wraps_around": Submission("circular convolution", _nb(CORRECT_TRAIN, I.BUGGY_FILTERS["roll without zeroing"][0]),
                                   points(filter_outputs=0, filter_impulse=1, filter_gradient=1, hidden_filter=0)),
        "stateful_filter": Submission("forward keeps the last K-1 samples for the next call",
                                      _nb(CORRECT_TRAIN, I.STATEFUL_FILTER),
                                      points(filter_structure=1, filter_outputs=2)),
        "flips_its_taps": Submission("forward flips self.filter in place at every call", _nb(CORRECT_TRAIN, I.FLIPS_ITS_TAPS),
                                     points(filter_structure=1, filter_outputs=1, filter_gradient=0, filter_convergence=0)),
        "crashes_for_more_taps_than_samples": Submission(
            "right for K <= N + 1, an exception beyond", _nb(CORRECT_TRAIN, I.CRASHES_WHEN_TAPS_EXCEED_SAMPLES),
            points(filter_outputs=3)),
        "joins_inner_rows": Submission("(A, B, 1, N) reshaped to (A, 1, B*N)", _nb(CORRECT_TRAIN, I.JOINS_INNER_ROWS),
                                       points(filter_outputs=3, hidden_filter=1)),

        # hostile: they end within the limits, and cost only what they break
        "syntax_error_in_train": Submission("a syntax error in the train cell", _nb(SYNTAX_ERROR_TRAIN, CORRECT_FILTER),
                                            points(train="none")),
        "sys_exit_in_train": Submission("train calls sys.exit()", _nb(SYS_EXIT_TRAIN, CORRECT_FILTER), points(train="none")),
        "endless_forward": Submission("forward never returns", _nb(CORRECT_TRAIN, INFINITE_FORWARD),
                                      points("none", filter_structure=1)),
        "os_exit_in_forward": Submission("forward calls os._exit(3)", _nb(CORRECT_TRAIN, OS_EXIT_FORWARD),
                                         points("none", filter_structure=1)),
        "huge_allocations": Submission("forward allocates 10^13 floats; train 8 GiB", _nb(BIG_TRAIN, HUGE_FORWARD),
                                       points("none", "none", filter_structure=1, train_device=0)),
        "writes_outside_and_kills_the_grader": Submission(
            "a file written outside the sandbox beside train; forward kills its parent",
            _nb(train_writing_to(escaped), KILLING_FORWARD), points("none", filter_structure=1), confined_only=True),
        "spawns_survivors": Submission("forward starts processes in new sessions and a thread that sleeps",
                                       _nb(CORRECT_TRAIN, SPAWNING_FORWARD), confined_only=True),
        "connects_to_the_network": Submission("forward connects to a port on this machine",
                                              _nb(CORRECT_TRAIN, connecting_forward(port)), confined_only=True),

        # attacks: only the honest part counts
        "imports_the_solutions": Submission("the stubs, and one import of lab2a.solutions",
                                            _nb(FROM_THE_SOLUTIONS + "raise NotImplementedError()\n", FROM_THE_SOLUTIONS),
                                            points("none", "none"), confined_only=True),
        "runs_the_source_notebook": Submission("a class body that reads and runs the instructor's solution cells",
                                               _nb(None, None, add_cells_after("setup", SOURCE_NOTEBOOK_EXEC)),
                                               points("none", "none"), confined_only=True),
        "uses_the_key_only_when_graded": Submission("imports the solutions only when it sees it is being graded",
                                                    _nb(None, None, add_cells_after("setup", KEY_WHEN_GRADED)),
                                                    points("none", "none"), confined_only=True),
        "uses_the_grader_internals": Submission("the oracle in forward, the reference loop in train, the grading key",
                                                _nb(None, None, add_cells_after("setup", GRADER_INTERNALS)),
                                                points("none", "none"), confined_only=True),
        "reads_files_it_should_not": Submission("reads the solutions, the source notebook, /root, /etc/shadow, /proc",
                                                _nb(CORRECT_TRAIN, CORRECT_FILTER, add_cells_after("setup", FILE_READS)),
                                                confined_only=True),
        "forges_the_sandbox_answers": Submission(
            "replaces the sandbox's operations: forward returns its input, train trains nothing",
            _nb(None, FORGED_OPERATIONS), points("none", "none")),
        "writes_into_the_grader_pipes": Submission("a correct train, then fake answers written to every open descriptor",
                                                   _nb(PIPE_WRITES, CORRECT_FILTER)),
        "switches_the_checks_off": Submission("replaces check_in_notebook, otherwise the stubs",
                                              _nb(CHECKS_OFF, CHECKS_OFF), points("none", "none")),
        "prints_the_hidden_checks": Submission("prints the hidden checks' module; forward prints its inputs",
                                               _nb(PRINTS_HIDDEN, PRINTS_ITS_INPUTS)),
        "hidden_test_marker_in_a_cell": Submission("a cell of notes quoting nbgrader's hidden-test markers",
                                                   _nb(CORRECT_TRAIN, CORRECT_FILTER,
                                                       add_cells_after("convolutional_filter", HIDDEN_MARKER_CELL))),
        "helper_defined_below_the_tests": Submission(
            "forward calls a helper whose cell is below every test cell",
            _nb(CORRECT_TRAIN, FILTER_WITH_HELPER, add_cells_after("", HELPER_CELL)),
            points("none", filter_structure=1)),

        # the red team's notebooks
        "forward_returns_its_input": Submission("forward is `return x`: no filter, no property of one",
                                                _nb(CORRECT_TRAIN, IDENTITY_FORWARD), points("none", filter_structure=1)),
        "forward_is_pass": Submission("forward is `pass`", _nb(CORRECT_TRAIN, EMPTY_FORWARD),
                                      points("none", filter_structure=1)),
        "numpy_forward_with_a_meta_guard": Submission(
            "a numpy forward that fakes a missing meta kernel on the meta device",
            _nb(CORRECT_TRAIN, NUMPY_WITH_A_META_GUARD),
            points(filter_gradient=0, filter_device=0, filter_convergence=0, hidden_filter=1)),
        "device_type_in_train": Submission("train reads device.type", _nb(TRAIN_DEVICE_TYPE, CORRECT_FILTER)),
        "torch_compile": Submission("forward calls a helper decorated with torch.compile", _nb(CORRECT_TRAIN, COMPILED_FILTER)),
        "replays_expected_losses": Submission("train returns losses a report showed, and trains nothing",
                                              _nb(REPLAYED_LOSSES, CORRECT_FILTER), points(train="none")),
        "forges_a_progress_message": Submission("walks the stack to the worker's channel and sends a false message",
                                                _nb(STACK_WALK_FORGERY, CORRECT_FILTER)),
        "a_thread_left_running": Submission("a thread started beside train runs through every check",
                                            _nb(BACKGROUND_THREAD, CORRECT_FILTER)),
        "limits_other_processes": Submission("forward tries to cap the fork server's and init's resources",
                                             _nb(CORRECT_TRAIN, LIMITS_OTHERS), confined_only=True),
        "chmods_a_file_outside": Submission("makes a file outside its folder setuid",
                                            _nb(chmod_outside(victim), CORRECT_FILTER), confined_only=True),
        "raw_test_cells_train_last": Submission(
            "the train test cells made raw, train defined in a cell below them",
            _nb(None, CORRECT_FILTER, then(_raw_train_tests, add_cells_after("", CORRECT_TRAIN))), points(train="none")),
        "duplicated_test_cell": Submission("a test cell copied and pasted", _nb(
            CORRECT_TRAIN, CORRECT_FILTER, _duplicate("test_filter_outputs"))),
        "copied_solution_cell": Submission("the train cell copied and pasted (its metadata with it)", _nb(
            CORRECT_TRAIN, CORRECT_FILTER, _duplicate("train"))),
        "solution_flag_on_a_test_cell": Submission("a test cell's metadata says solution: true", _nb(
            CORRECT_TRAIN, CORRECT_FILTER, _flag_as_solution("test_filter_impulse"))),

        # the red team's second round
        "takes_shared_memory": Submission("System V shared memory, a message queue and a memfd beside train",
                                          _nb(SHARED_MEMORY, CORRECT_FILTER), confined_only=True),
        "nests_folders_deep": Submission("1500 folders nested in its own folder", _nb(DEEP_FOLDERS, CORRECT_FILTER)),
        "starts_many_threads": Submission("300 threads started beside train", _nb(MANY_THREADS, CORRECT_FILTER),
                                          confined_only=True),
        "fallocates_gigabytes": Submission("fallocate of 40 files of 255 MiB", _nb(FALLOCATE, CORRECT_FILTER),
                                           confined_only=True),
        "prints_through_a_copy_of_stdout": Submission(
            "forward writes what it is given to a copy of stdout made beside train",
            _nb(COPY_OF_STDOUT, WRITES_TO_THE_COPY)),
        "guards_on_the_meta_device": Submission("a CPU-pinned forward that answers the meta device apart",
                                                _nb(CORRECT_TRAIN, META_GUARD), points(filter_device=0, hidden_filter=1)),
        "asserts_finite_inputs": Submission("forward asserts its input is finite (fine on a GPU)",
                                            _nb(CORRECT_TRAIN, ASSERTS_FINITE)),
        "patches_torch_equal": Submission("forward writes into its input; the cell replaces torch.equal",
                                          _nb(CORRECT_TRAIN, PATCHES_TORCH_EQUAL), points("none")),
        "metadata_from_the_future": Submission("the train cell's nbgrader schema_version is 4",
                                               _nb(CORRECT_TRAIN, CORRECT_FILTER, _metadata(_schema_version_4))),
        "a_made_up_grade_id": Submission("an added cell flagged as a solution with an id of its own",
                                         _nb(CORRECT_TRAIN, CORRECT_FILTER, _notes_cell_with_a_made_up_id)),
        "nbformat_5_field": Submission("a notebook whose nbformat field says 5", _nbformat_5),

        # the red team's round 3
        "surrogates_in_texts": Submission(
            "lone surrogates in a statement's error, in forward's error on a hidden shape and in the file's JSON",
            _surrogate_escape, points(hidden_filter=1)),
        "twenty_thousand_failing_statements": Submission("a line of 20000 failing assignments beside correct code",
                                                         _nb(CORRECT_TRAIN, CORRECT_FILTER,
                                                             add_cells_after("", MANY_FAILURES_CELL))),
        "swaps_a_sandbox_module": Submission("train moves nothing; sys.modules gets a sandbox module with a fake loader",
                                             _nb(SWAPS_A_SANDBOX_MODULE, CORRECT_FILTER), points("none", "none")),
        "patches_dataloader_iter": Submission("train moves nothing; DataLoader.__iter__ strips the batches' tags",
                                              _nb(PATCHES_DATALOADER_ITER, CORRECT_FILTER), points("none", "none")),
        "adds_tensor_numpy": Submission("a numpy forward; a Tensor.numpy added that answers the meta device apart",
                                        _nb(CORRECT_TRAIN, NUMPY_FILTER_ADDING_TENSOR_NUMPY), points("none")),
        "torch_mode_makes_equal_true": Submission("forward shifts its input in place; a torch mode makes equal True",
                                                  _nb(CORRECT_TRAIN, SHIFTING_FILTER_WITH_A_TORCH_MODE), points("none")),
        "sets_the_default_device": Submission("correct code; a cell calls torch.set_default_device('cpu')",
                                              _nb(CORRECT_TRAIN, CORRECT_FILTER, add_cells_after(
                                                  "setup", "import torch\nDEFAULT = torch.set_default_device('cpu')\n"))),
        "errors_quote_hidden_inputs": Submission("forward and train raise on hidden inputs, quoting them",
                                                 _nb(TRAIN_QUOTING_HIDDEN_INPUTS, FILTER_QUOTING_HIDDEN_INPUTS),
                                                 points(hidden_filter=0, hidden_train=0)),

        # files that are not a notebook to grade: 0, with the reason
        "invalid_json": Submission("a truncated file", _bytes(RELEASE_TEXT[:5000].encode()), points("none", "none")),
        "no_cells": Submission("a notebook without cells", lambda folder: write(nbformat.v4.new_notebook(), folder / "lab2a.ipynb"),
                               points("none", "none")),
        "non_utf8": Submission("bytes that are not UTF-8", _bytes(RELEASE_TEXT.replace("Lab 2A", "Lab 2A \xe9").encode(
            "latin-1", "replace")), points("none", "none")),
        "several_notebooks": Submission("two notebooks and no lab2a.ipynb", _several, points("none", "none")),
        "nothing_submitted": Submission("an empty folder", _nothing, points("none", "none")),
        **_grouped(escaped, port, victim),
    }


def _grouped(escaped: Path, port: int, victim: Path) -> dict[str, Submission]:
    """The entries kept in tests/catalogue/, one module per group; a name may appear once in the whole catalogue."""
    from .catalogue import interpreter, limits, properties, python_cells, student_marks

    found = {}
    for group in (python_cells, student_marks, limits, interpreter, properties):
        for name, submission in group.entries(escaped, port, victim).items():
            assert name not in found, f"{name} is in the catalogue twice"
            found[name] = submission
    return found
