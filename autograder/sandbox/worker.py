"""The sandbox's process, forked by the fork server (zygote.py) in a fresh folder.

Before any student code it has imported what the student's code and the operations need and warmed
torch up (prepare), then it confines itself (confine.py): from then on it can read the Python runtime
and its folder only, start no process, open no socket. It
holds nothing of the grader's: no check, expected value, oracle or reference loop, only the sandbox
modules. Then it says it is ready and serves the grader's requests, one JSON line each (transport.py)
on the requests pipe, each answered on the results pipe with the request's id:

  {"id": i, "run": {"label", "filename", "source", "flags", "statements": [{"index", "line"}]}}
        parse the cell's Python (source, with the compiler flags `flags`: IPython's and the __future__
        features the cells above set), then compile and run these of its top-level nodes in order, each
        on its own from the AST, as IPython does (a __future__ import holds for the nodes after it);
        before each: {"id": i, "statement": j}; at the end: {"id": i, "ran": {"failures": [{"statement",
        "line", "message"}]}}
  {"id": i, "op": name, "args": {...}, "quiet": bool}
        one operation of ops.py; the answer is ops.perform's, e.g. {"id": i, "data": {...}}, or
        {"id": i, "unsendable": why} when it can't be encoded. quiet: the student's prints are dropped.

The student's prints go to this process's stdout and stderr, which the grader drains apart from the
results. Nothing here decides a score.
"""

import ast
import codeop
import importlib
import importlib.util
import linecache
import os
import re
import sys
import traceback
from inspect import CO_COROUTINE


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 (a stream the student's code replaced)
            pass


class Channel:
    """Reads requests and writes whole answers. Holds its own references to what it uses, so a
    submission that replaces os.read/os.write or json functions can't break the channel by accident."""

    def __init__(self, requests: int, results: int, encode, decode, max_bytes: int):
        self.requests, self.results = requests, results
        self.encode, self.decode, self.max_bytes = encode, decode, max_bytes
        self._read, self._write = os.read, os.write
        self.buffer = b""

    def receive(self) -> dict | None:
        while b"\n" not in self.buffer:
            chunk = self._read(self.requests, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return self.decode(line)

    def send(self, message: dict) -> None:
        try:
            data = self.encode(message)
        except (TypeError, ValueError, OverflowError, RecursionError) as error:
            data = self.encode({"id": message.get("id"), "unsendable": f"the data could not be encoded ({error})"})
        except MemoryError:
            data = self.encode({"id": message.get("id"), "unsendable": "the data is too large to send (out of memory)"})
        if len(data) > self.max_bytes:
            said = f"the data is {len(data) / 1e6:.0f} MB, over the {self.max_bytes / 1e6:.0f} MB the grader accepts"
            data = self.encode({"id": message.get("id"), "unsendable": said})
        view = memoryview(data)
        while view:
            view = view[self._write(self.results, view):]


def _line_in(tb, filename: str) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == filename:
            line = lineno
    return line


def _finish(coroutine) -> None:
    """Run a top-level await (IPython allows one) to its end without an event loop (the sandbox has none)."""
    try:
        while True:
            if coroutine.send(None) is not None:  # it waits on a future: that needs an event loop
                coroutine.close()
                raise RuntimeError("it awaits something only an event loop can run, and the grader runs none")
    except StopIteration:
        pass


def run_statement(node: ast.stmt, line: int, filename: str, namespace: dict, compiler: codeop.Compile) -> str | None:
    """Compile one top-level node of a cell with the cell's compiler and run it; what went wrong, if anything."""
    try:
        code = compiler(ast.Module([node], []), filename, "exec")
        if code.co_flags & CO_COROUTINE:
            _finish(eval(code, namespace))
        else:
            exec(code, namespace)
    except SystemExit as error:
        return f"called sys.exit({error.code!r})" if error.code is not None else "called sys.exit()"
    except BaseException as error:  # noqa: BLE001 (whatever the student's statement raises)
        where = _line_in(error.__traceback__, filename) or line
        said = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        return f"raised {type(error).__name__} at line {where}" + (f": {said}" if said else "")
    return None


_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def run_cell(cell: dict, namespace: dict, started) -> list[dict]:
    """Run the cell's statements that the grader chose (run request); started(j) before the j-th. The failures."""
    compiler = codeop.Compile()
    compiler.flags = cell["flags"] | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT  # (IPython's, with autoawait on)
    # the cell's text where inspect finds it, as IPython keeps each cell's (torch.jit.script reads a function's
    # source; so do inspect.getsource and tracebacks), split into lines as Python counts them
    source = cell["source"]
    linecache.cache[cell["filename"]] = (len(source), None, _LINES.findall(source), cell["filename"])
    unread = "is not in the cell"
    try:
        nodes = compile(cell["source"], cell["filename"], "exec", cell["flags"] | ast.PyCF_ONLY_AST, True).body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:  # (the grader parsed it: never)
        nodes, unread = [], f"could not be parsed ({type(error).__name__})"
    failures = []
    for position, statement in enumerate(cell["statements"]):
        started(position)
        index, line = statement["index"], statement["line"]
        if 0 <= index < len(nodes):
            problem = run_statement(nodes[index], line, cell["filename"], namespace, compiler)
        else:
            problem = unread
        _flush()
        if problem:
            failures.append({"statement": position, "line": line, "message": problem})
    return failures


class _Quiet:
    """The student's prints go nowhere while a hidden check runs."""

    def __enter__(self):
        _flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        _flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)


def _warm_up(torch) -> None:
    """Run once what the student's code and the operations will run, so that lazy initialisations
    (CPU feature detection, FFT plans, autograd's engine) happen before the confinement forbids
    reading /proc and /sys, and the first check doesn't pay for them."""
    from torch.nn import functional
    from torch.utils.data import DataLoader, TensorDataset

    x = torch.randn(2, 1, 64)
    h = torch.randn(5, requires_grad=True)
    y = torch.fft.irfft(torch.fft.rfft(x, 128) * torch.fft.rfft(h, 128), 128)[..., :64]
    y = y + functional.conv1d(functional.pad(x, (4, 0)), h.flip(0).view(1, 1, -1))
    y = y + functional.pad(x, (4, 0)).unfold(-1, 5, 1) @ h + torch.roll(x, 1, -1) * h[0]
    y.sum().backward()
    for optimizer in (torch.optim.SGD([h], lr=0.1, momentum=0.9), torch.optim.Adam([h], lr=0.1)):
        optimizer.step()
        optimizer.zero_grad()
    for _ in DataLoader(TensorDataset(x, x), batch_size=1, shuffle=True):
        pass
    if torch.cuda.is_available():  # opens the GPU's devices before they can no longer be opened
        torch.cuda.init()
        (torch.ones(1, device="cuda") * 2).cpu()


def _protected() -> list[str]:
    """Where the grader's own packages are, found without importing them (the solutions are among them)."""
    places = []
    for name in ("lab2a", "lab2a.autograder", "lab2a.data"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            places.extend(spec.submodule_search_locations or [])
    return places


_PREPARED = []  # the snapshot taken in prepare(), before any student code: the fork server's, inherited (a list
                # kept as it is, so that the snapshot of this module's names stays true)


# The sandbox's own modules: imported before the worker confines itself, and watched for tampering with the
# libraries (_snapshot; judge/unquoted.py's SANDBOX_MODULES names them in a hidden check's report)
SANDBOX_MODULES = ("ops", "filter_ops", "train_ops", "devices", "student", "scenario", "shared", "transport",
                   "integrity", "prelude", "confine")


def _sandbox_modules() -> tuple:
    return tuple(importlib.import_module(f"lab2a.autograder.sandbox.{name}") for name in SANDBOX_MODULES)


def _snapshot() -> tuple:
    """integrity.snapshot of the sandbox's modules and the libraries the operations compute with (some 100 ms:
    taken once in the fork server, so that no worker's first reply waits for it)."""
    import numpy as np
    import torch

    from lab2a.autograder.sandbox import integrity

    data = torch.utils.data
    libraries = (torch, torch.Tensor, torch.nn.Module, torch.nn.Parameter, torch.nn.functional, torch.fft,
                 torch.optim.Optimizer, torch.optim.SGD, torch.autograd, np, data, data.DataLoader,
                 data.dataloader, data.dataloader._BaseDataLoaderIter, data.dataloader._SingleProcessDataLoaderIter,
                 data.TensorDataset, data.Dataset, torch.utils._device.DeviceContext)
    return integrity.snapshot((*_sandbox_modules(), sys.modules[__name__]), libraries)


def prepare():
    """What every worker needs before it confines itself: numpy, torch (one thread), warmed up, and the
    sandbox's own modules. Done once, in the fork server (zygote.py), before it forks any worker."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # input() gets end-of-file
    os.close(null)
    import numpy  # noqa: F401
    import torch
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    _warm_up(torch)
    _sandbox_modules()   # imported now: a worker that runs as another account may not read them
    _PREPARED[:] = [_snapshot()]


def serve(requests: int, results: int, memory: int, max_message: int, protect=(), tasks=None) -> None:
    """Confine this process, say so, then answer the grader's requests until it closes the pipe. Never returns.
    tasks: ("cgroup", n) when the fork server put this process in a pids cgroup of n tasks at most."""
    import random

    import numpy as np
    import torch

    from lab2a.autograder.sandbox import integrity, ops, prelude, transport
    from lab2a.autograder.sandbox.confine import confine

    for fd in (requests, results):
        os.set_inheritable(fd, False)
    channel = Channel(requests, results, transport.encode, transport.decode, max_message)
    from lab2a.autograder.sandbox import shared

    taken = integrity.with_objects(_PREPARED[0], (channel,))   # prepare() ran in the fork server
    taken = integrity.with_current(taken, shared, "_mapped")   # (mapped in this worker, after the snapshot)
    # the comparison's own code, its module's names and the builtins, held here (in this frame's locals, which
    # Python code can't rebind) and compared with `is` before the comparison is trusted: a cell that swaps
    # integrity.changed's __code__, or a builtin it calls, is seen by this loop itself
    changed, settle, (core_entries, core_functions) = integrity.changed, integrity.settle, integrity.core()
    missing = object()
    # (taken before the confinement, its signal handlers added after it: the snapshot is the worker's start,
    # not the first cell's)
    sandbox = confine(os.getcwd(), memory, protected=_protected() + list(protect), tasks=tasks)
    taken = integrity.with_signals(taken)
    fast = integrity.grouped(taken)
    channel.send({"ready": True, "sandbox": sandbox.as_dict()})

    namespace = prelude.namespace()
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)

    while True:
        request = channel.receive()
        if request is None:
            break
        ident = request.get("id")
        if "run" in request:
            failures = run_cell(request["run"], namespace,
                                lambda j, ident=ident: channel.send({"id": ident, "statement": j}))
            channel.send({"id": ident, "ran": {"failures": failures}})
            # then, before the next request is read: the cell's finalizers run, its signal handlers and timers are
            # put back
            settle(taken)
        elif "op" in request:
            verdicts, answer = [], None
            for stage in ("before", "after"):
                verdict = None
                for mapping, name, value in core_entries:
                    if mapping.get(name, missing) is not value:
                        verdict = f"{name} (what the sandbox's integrity check relies on)"
                        break
                for function, code, defaults, kwdefaults in core_functions:
                    if verdict is None and (function.__code__ is not code or function.__defaults__ is not defaults
                                            or function.__kwdefaults__ is not kwdefaults):
                        verdict = "the code of the sandbox's integrity check"
                # the dispatcher's kernels (some 60 ms) around the operations whose answers are properties the
                # worker reports: a kernel registered from outside torch could make them say what it likes; the
                # other answers are numbers the grader checks, which a kernel can't forge without computing them
                verdict = verdict or changed(taken, request["op"] in integrity.PROPERTY_OPERATIONS, fast)
                verdicts.append(verdict)
                if stage == "before" and verdict is None:
                    if request.get("quiet"):
                        with _Quiet():
                            answer = ops.perform(namespace, request["op"], request.get("args", {}))
                    else:
                        answer = ops.perform(namespace, request["op"], request.get("args", {}))
                        _flush()
            after = verdicts[0] or verdicts[1]
            channel.send({"id": ident, **({"tampered": after} if after else answer)})
    _flush()
    os._exit(0)  # no atexit handlers or finalizers the student's code may have registered

