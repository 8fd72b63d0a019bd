"""The isolated runner: the student's cells and the checks' probes run in a worker process (worker.py), one
step at a time, under limits; the grader's process only reads plain data back (transport.py).

Limits, per worker: a wall-clock timeout per step (a cell or a check's probe), an address-space limit
(RLIMIT_AS) so a huge allocation fails inside the worker, one CPU thread, no core dumps, files of at
most 256 MiB, a fresh temporary working directory and a minimal environment, and, where Linux
Landlock exists, no writing outside that directory and no signals to the grader (confine.py). The
worker's stdout and stderr (the student's prints) are drained apart from the result pipe; the first
`output` bytes are kept.

When a step times out or the worker ends (sys.exit is caught; os._exit, a segfault, a kill are not),
that step is recorded and the worker's whole process group is killed; a fresh worker reruns the cells
that worked and goes on with the remaining checks. A solution cell that timed out or ended the process
is retried once with its definitions only (def/class/import/constants), so heavy or crashing top-level
code after the definitions doesn't cost the task. Once a worker has been lost, a spare one is started
ahead of time (torch imported, waiting for its job), so restarts cost less.
"""

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import lab2a

from lab2a.autograder.sandbox import transport
from lab2a.autograder.grading.submission import StudentCell, definitions_of


class GraderError(RuntimeError):
    """The grader itself could not run (not the submission's fault)."""


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0          # seconds per step: one cell, or one check's probe
    memory: int = 4 << 30          # bytes of address space for the worker
    startup: float = 180.0         # seconds for a worker to import torch and the checks
    output: int = 10_000           # bytes of the student's printed output kept for the report
    max_message: int = transport.MAX_MESSAGE


@dataclass
class Outcome:
    """What came back for one check: kind is "data", "error" (StudentError fields), "exit", "raised",
    "unsendable", "timeout", "ended" or "protocol"; value: the data or a text."""
    kind: str
    value: object = None


@dataclass
class CellResult:
    cell: StudentCell
    ok: bool
    message: str = ""


@dataclass
class RunResult:
    cells: list = field(default_factory=list)      # CellResult, in notebook order
    outcomes: dict = field(default_factory=dict)   # check name -> Outcome
    output: bytes = b""
    output_bytes: int = 0
    workers: int = 0
    confinement: str = ""                           # what confine.py enforced in the workers


class _Output:
    """The student's prints from every worker: the first `keep` bytes, and a count of the rest."""

    def __init__(self, keep: int):
        self.keep, self.kept, self.total = keep, bytearray(), 0
        self.lock = threading.Lock()

    def drain(self, fd: int) -> None:
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                with self.lock:
                    self.total += len(chunk)
                    room = self.keep - len(self.kept)
                    if room > 0:
                        self.kept += chunk[:room]
        except OSError:
            pass
        finally:
            os.close(fd)


def _environment(folder: str) -> dict:
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": folder, "TMPDIR": folder, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": os.path.join(folder, ".matplotlib"),
        "NBGRADER_EXECUTION": "autograde",
        # The worker imports the same lab2a as this grader (a Classroom copy is not installed, a course
        # checkout is): the folder holding the package comes first on its path.
        "PYTHONPATH": str(Path(lab2a.__file__).resolve().parents[1]),
    }
    # OPENBLAS_*: some machines need them set (older OpenBLAS builds crash or miscompute without).
    for name in ("CUDA_VISIBLE_DEVICES", "SYSTEMROOT", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _python_flags() -> list:
    # -s: no user site-packages; -P (3.11+): the working directory is not on sys.path. Not -I/-E, which
    # would drop PYTHONHASHSEED (the worker's environment is minimal anyway).
    return ["-s", "-P"] if sys.version_info >= (3, 11) else ["-s"]


class _Ended(Exception):
    pass


class _Timeout(Exception):
    pass


class _Protocol(Exception):
    pass


class Worker:
    """One worker process with its pipes, folder and process group."""

    def __init__(self, limits: Limits, output: _Output):
        self.limits = limits
        self.folder = tempfile.mkdtemp(prefix="lab2a-grade-")
        result_read, result_write = os.pipe()
        out_read, out_write = os.pipe()
        command = [sys.executable, *_python_flags(), "-m", "lab2a.autograder.sandbox.worker", "--fd", str(result_write),
                   "--memory", str(limits.memory), "--max-message", str(limits.max_message)]
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out_write, stderr=out_write,
                                            cwd=self.folder, env=_environment(self.folder), pass_fds=(result_write,),
                                            start_new_session=True, close_fds=True)
        except OSError as error:
            for fd in (result_read, result_write, out_read, out_write):
                os.close(fd)
            shutil.rmtree(self.folder, ignore_errors=True)
            raise GraderError(f"could not start the worker process ({sys.executable}): {error}") from None
        os.close(result_write)
        os.close(out_write)
        self.fd = result_read
        self.buffer = bytearray()
        self.stopped = False
        self.drainer = threading.Thread(target=output.drain, args=(out_read,), daemon=True)
        self.drainer.start()

    def start(self, job: dict) -> None:
        """Hand the worker its job (it imports torch first, so a spare worker can wait ready)."""
        def write():
            try:
                self.process.stdin.write(transport.encode(job))
                self.process.stdin.close()
            except (OSError, ValueError):
                pass  # the worker ended early: the first read says so
        threading.Thread(target=write, daemon=True).start()

    def next(self, timeout: float) -> dict:
        """The next message; _Timeout, _Ended or _Protocol otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self.buffer[:newline])
                del self.buffer[:newline + 1]
                try:
                    message = transport.decode(line)
                except transport.TransportError as error:
                    raise _Protocol(str(error)) from None
                if not isinstance(message, dict):
                    raise _Protocol("a message is not a JSON object")
                return message
            if len(self.buffer) > self.limits.max_message:
                raise _Protocol(f"a message is over the {self.limits.max_message / 1e6:.0f} MB the grader accepts")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                raise _Timeout()
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise _Ended()
            self.buffer += chunk

    def end_reason(self) -> str:
        """Why the worker process ended, for the student."""
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "your code closed the grader's channel to the Python process running it"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            why = {"SIGSEGV": "a segmentation fault: a crash in native code",
                   "SIGKILL": "killed, by your code or by the system (out of memory?)",
                   "SIGABRT": "aborted, e.g. a failed allocation in native code",
                   "SIGBUS": "a bus error: a crash in native code"}.get(name, "a signal")
            return f"the Python process running your code died ({name}: {why})"
        return (f"your code ended the Python process running it (exit code {code}: os._exit({code}) or a crash); "
                f"sys.exit() is caught, os._exit() is not")

    def stop(self) -> None:
        """Kill the worker and everything it started, and remove its folder (once)."""
        if self.stopped:
            return
        self.stopped = True
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for close in (lambda: os.close(self.fd), self.process.stdin.close):
            try:
                close()
            except (OSError, ValueError):
                pass
        self.drainer.join(timeout=2)
        shutil.rmtree(self.folder, ignore_errors=True)


def _timeout_text(seconds: float) -> str:
    return f"{seconds:g} s"


def _run(session: "Session", cells: list, checks: list) -> RunResult:
    limits, output = session.limits, session.output
    result = RunResult()
    sources = {i: cell.source for i, cell in enumerate(cells)}   # what each cell runs as next time
    first = {}          # cell index -> CellResult of its first complete run
    retried = set()     # cells already cut to their definitions
    pending = list(checks)
    started = False
    try:
        while not started or pending:
            started = True
            runnable = [i for i in range(len(cells)) if sources[i] is not None]
            job = {"cells": [{"name": cells[i].name, "label": cells[i].label, "source": sources[i]} for i in runnable],
                   "checks": list(pending)}
            worker, session.spare = session.spare or Worker(limits, output), None
            worker.start(job)
            if result.workers:  # a worker has been lost: the next one starts now
                session.warm()
            result.workers += 1
            step = None
            try:
                try:
                    message = worker.next(limits.startup)
                except _Timeout:
                    raise GraderError(f"the worker process did not start within {limits.startup:g} s") from None
                except (_Ended, _Protocol):
                    worker.stop()
                    raise GraderError(f"the worker process could not start (exit code {worker.process.returncode}):\n"
                                      + bytes(output.kept).decode("utf-8", "replace")[-3000:]) from None
                if message.get("ready") is not True or not isinstance(message.get("confinement"), str):
                    raise GraderError(f"the worker process sent {str(message)[:200]} instead of its ready message")
                result.confinement = message["confinement"]
                for position, index in enumerate(runnable):
                    step = ("cell", index)
                    message = worker.next(limits.timeout)
                    if message.get("cell") != position or not isinstance(message.get("ok"), bool):
                        raise _Protocol("an unexpected message")
                    if index not in first or (first[index].ok and not message["ok"]):
                        text = message.get("message") if isinstance(message.get("message"), str) else ""
                        first[index] = CellResult(cells[index], message["ok"], text[:2000])
                for name in list(pending):
                    step = ("check", name)
                    message = worker.next(limits.timeout)
                    if message.get("check") != name or len(message) != 2:
                        raise _Protocol("an unexpected message")
                    (kind, value), = ((k, v) for k, v in message.items() if k != "check")
                    if kind not in ("data", "error", "exit", "raised", "unsendable"):
                        raise _Protocol(f"an unexpected message ({kind})")
                    result.outcomes[name] = Outcome(kind, value)
                    pending.remove(name)
                step = None
                worker.next(limits.timeout)  # {"done": true}
            except (_Timeout, _Ended, _Protocol) as stop:
                if step is None:
                    pass  # all steps are in: how the worker ended no longer matters
                else:
                    if isinstance(stop, _Timeout):
                        what = (f"timed out after {_timeout_text(limits.timeout)}: your code did not finish "
                                f"(an infinite loop, or very slow code?)")
                    elif isinstance(stop, _Ended):
                        what = worker.end_reason()
                    else:
                        what = (f"the grader could not read what the Python process running your code sent ({stop}); "
                                f"did your code write to the grader's channel?")
                    kind, target = step
                    if kind == "check":
                        result.outcomes[target] = Outcome("timeout" if isinstance(stop, _Timeout) else
                                                          "ended" if isinstance(stop, _Ended) else "protocol", what)
                        pending.remove(target)
                    else:
                        cell = cells[target]
                        definitions = None if isinstance(stop, _Protocol) else definitions_of(sources[target])
                        if cell.kind == "solution" and target not in retried and definitions and definitions != sources[target]:
                            retried.add(target)
                            sources[target] = definitions
                            failure = (f"{cell.label} {what}. The grader then ran its definitions only (def, class, "
                                       f"import, constants): keep long computations and experiments out of the "
                                       f"solution cells.")
                        else:
                            sources[target] = None
                            failure = f"{cell.label} {what}. Nothing it defines exists."
                        first[target] = CellResult(cell, False, failure)
            finally:
                worker.stop()
    finally:
        session.close()
    result.cells = [first.get(i, CellResult(cells[i], False, f"{cells[i].label} did not run."))
                    for i in range(len(cells))]
    with output.lock:
        result.output, result.output_bytes = bytes(output.kept), output.total
    return result


class Session:
    """Workers for one submission, sharing the kept output. warm() starts a worker ahead of time (it
    imports torch while the grader reads the notebook); run() uses it."""

    def __init__(self, limits: Limits = Limits()):
        self.limits = limits
        self.output = _Output(limits.output)
        self.spare = None

    def warm(self) -> None:
        if self.spare is None:
            self.spare = Worker(self.limits, self.output)

    def run(self, cells: list, checks: list) -> RunResult:
        """Run the cells, then probe each check, in as many workers as it takes."""
        return _run(self, cells, checks)

    def close(self) -> None:
        if self.spare is not None:
            self.spare.stop()
            self.spare = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run(cells: list, checks: list, limits: Limits = Limits()) -> RunResult:
    """Run the cells, then probe each check, in as many workers as it takes."""
    with Session(limits) as session:
        return session.run(cells, checks)
