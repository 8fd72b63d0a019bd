"""The grader's side of the sandbox: it has a worker process forked (sandbox/zygote.py, worker.py), hands
it the student's cells and the checks' operations one request at a time, and reads plain data back.

Limits (class Limits): per step (a cell, or a whole check) a wall-clock timeout, then the worker is
killed; per submission a budget of 15 steps' time in all. Per worker: the confinement of
sandbox/confine.py (files, network, processes, memory), a fresh folder, a minimal environment, and,
watched from here, the bytes and files written in that folder (and in files it keeps open or mapped
after unlinking them) and its number of threads. Every request
is written without blocking, so a worker that stops reading costs its step's time, not the grader. The
student's prints are drained apart from the answers; the first `output` bytes are kept.

When the worker is lost (a timeout, a crash, os._exit, a kill), the next step starts a new one and
replays the cells that had run, so one failure costs one step. A statement that was running when its
cell timed out or its process died is skipped from then on. Workers come from a fork server that has
torch imported already, so a new one costs milliseconds.
"""

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab2a.autograder.grading.errors import GraderError, StepFailed
from lab2a.autograder.sandbox import shared, transport

import lab2a


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0          # seconds per step: one cell, or one check
    memory: int = 4 << 30          # bytes of address space for the worker
    startup: float = 180.0         # seconds for a worker to import torch and confine itself
    output: int = 10_000           # bytes of the student's printed output kept for the report
    disk: int = 512 << 20          # bytes the student's code may write in its folder
    files: int = 10_000            # files and folders it may make there
    threads: int = 64              # threads of the worker (read from /proc where there is one)
    total: float | None = None     # seconds for the whole submission (default: 15 steps' worth)
    max_message: int = transport.MAX_MESSAGE

    @property
    def budget(self) -> float:
        return self.total if self.total is not None else 15 * self.timeout


DEFAULT_LIMITS = Limits()


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
        # torch.compile needs a compiler in a new process, which the sandbox forbids: compiled code runs as is
        "TORCHDYNAMO_DISABLE": "1",
        # the worker imports the same lab2a as this grader (a plain copy is not installed, a checkout is)
        "PYTHONPATH": str(Path(lab2a.__file__).resolve().parents[1]),
    }
    # OPENBLAS_*: some machines need them set (older OpenBLAS builds crash or miscompute without).
    for name in ("CUDA_VISIBLE_DEVICES", "SYSTEMROOT", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _over(folder: str, limits: Limits, pid: int | None = None) -> str | None:
    """What the worker's files take past the limits ("disk" or "files"): those in its folder, counted until a
    limit is passed (without recursion: the student's code may nest folders thousands deep), and those it
    holds open or mapped after they were unlinked, or made unnamed (O_TMPFILE), which no folder lists."""
    total, count = _unlinked(pid) if pid else (0, 0)
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            count += 1
            if count > limits.files:
                return "files"
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
            if total > limits.disk:
                return "disk"
    return "disk" if total > limits.disk else "files" if count > limits.files else None


def _unlinked(pid: int) -> tuple[int, int]:
    """(bytes, files) of the regular files without a name (unlinked, or made with O_TMPFILE) that the
    process keeps open or mapped: their blocks stay taken until it ends. Counted rather than forbidden:
    Landlock can refuse removing files (not on every ABI the same way, and a rename over a file is a
    removal too), but not O_TMPFILE, and seccomp can't see openat2's flags; reading them from /proc holds
    on every kernel, for any ABI. (The grader reads /proc/<pid> of its own worker: the same account, or root.)"""
    seen, total = set(), 0
    places = []
    try:
        places += [f"/proc/{pid}/fd/{fd}" for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/maps") as maps:
            for line in maps:
                if line.rstrip().endswith("(deleted)"):
                    places.append(f"/proc/{pid}/map_files/{line.split(maxsplit=1)[0]}")
    except OSError:
        pass
    for place in places:
        try:
            info = os.stat(place)
        except OSError:
            continue
        if info.st_nlink == 0 and stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in seen:
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
    return total, len(seen)


def _threads(pid: int) -> int:
    """The process's number of threads, 0 where /proc can't tell."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("Threads:")), 0)
    except (OSError, ValueError):
        return 0


def remove_folder(folder: str) -> None:
    """Remove a worker's folder, however the student's code left it (folders nested beyond Python's
    recursion limit included); never raises."""
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        return
    except (OSError, RecursionError):
        try:  # the system's rm descends any depth
            subprocess.run(["rm", "-rf", "--", folder], capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            pass


def sandbox_user() -> list | None:
    """[name, uid, gid] of the account the student's code runs as, when this grader runs as root and
    LAB2A_SANDBOX_USER names one (Gradescope's run_autograder does): the worker drops root's privileges to
    it before it confines itself. None otherwise (the worker keeps this process's account)."""
    name = os.environ.get("LAB2A_SANDBOX_USER", "").strip()
    if not name or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise GraderError(f"LAB2A_SANDBOX_USER names {name!r}, which is no account here (useradd --system "
                          f"{name})") from None
    if entry.pw_uid == 0:
        raise GraderError(f"LAB2A_SANDBOX_USER must name an unprivileged account, not {name!r} (uid 0)")
    return [name, entry.pw_uid, entry.pw_gid]


class _ForkServer:
    """The sandbox's fork server (sandbox/zygote.py) of this grader process: started once, it has torch
    imported and forks each worker in milliseconds. It ends when this process does."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.lock = threading.Lock()
        self.folder = tempfile.mkdtemp(prefix="lab2a-zygote-")
        ours, theirs = socket.socketpair()
        self.log = open(os.path.join(self.folder, "log"), "w+b")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-s", "-P", "-m", "lab2a.autograder.sandbox.zygote",
                 "--control", str(theirs.fileno())],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, cwd=self.folder,
                env=_environment(self.folder), pass_fds=(theirs.fileno(),), start_new_session=True)
        except OSError as error:
            raise GraderError(f"could not start the sandbox's fork server ({sys.executable}): {error}") from None
        finally:
            theirs.close()
        self.control = ours
        self.ready = False
        self.buffer = b""

    def _line(self, timeout: float) -> tuple[dict, list]:
        deadline = time.monotonic() + timeout
        fds = []
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.control], [], [], remaining)[0]:
                raise GraderError(f"the sandbox's fork server did not answer within {timeout:g} s")
            data, received, _, _ = socket.recv_fds(self.control, 1 << 16, 1)
            if not data:
                self.log.seek(0)
                raise GraderError("the sandbox's fork server ended:\n"
                                  + self.log.read().decode("utf-8", "replace")[-3000:])
            self.buffer += data
            fds += received
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line), fds

    def spawn(self, folder: str, protect, fds: list, limits: Limits) -> tuple[int, int | None]:
        """A new worker in `folder` with these limits, given its four pipes and its shared memory; returns (pid,
        pidfd or None)."""
        with self.lock:
            if not self.ready:
                self._line(self.limits.startup)
                self.ready = True
            spec = {"folder": folder, "memory": limits.memory, "max_message": limits.max_message,
                    "protect": list(protect), "user": sandbox_user(), "threads": limits.threads}
            try:
                socket.send_fds(self.control, [json.dumps(spec).encode()], fds)
                answer, pidfds = self._line(self.limits.startup)
            except OSError as error:
                raise GraderError(f"the sandbox's fork server could not be reached: {error}") from None
        if not answer.get("pid"):
            raise GraderError("the sandbox's fork server could not start a worker")
        return answer["pid"], (pidfds[0] if pidfds else None)

    def close(self) -> None:
        self.control.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_servers = {}
_servers_lock = threading.Lock()


def fork_server(limits: Limits) -> _ForkServer:
    """This process's fork server (the limits of each worker go with its request: one server serves all)."""
    key = limits.startup
    with _servers_lock:
        server = _servers.get(key)
        if server is None or server.process.poll() is not None:
            if server is not None:
                server.close()  # it died (killed, say): its folder goes
            server = _servers[key] = _ForkServer(limits)
        return server


def _warm_torch() -> None:
    import torch

    taps = torch.zeros(1, requires_grad=True)
    taps.grad = torch.zeros(1)
    torch.optim.SGD([taps], lr=0.1).step()  # its first step imports torch._dynamo: over a second


def start_early(limits: Limits = DEFAULT_LIMITS) -> None:
    """Start what grading waits for, in the background, before this process imports the grader: the fork
    server (torch imported there) and, here, torch with what an optimizer's first step loads. Saves some
    seconds on a command that grades one notebook."""
    try:
        fork_server(limits)
    except GraderError:
        return  # grading says so, in its turn
    threading.Thread(target=_warm_torch, daemon=True).start()


@atexit.register
def _close_fork_servers() -> None:
    for server in _servers.values():
        server.close()


class Worker:
    """One worker process (forked by the fork server) with its pipes and folder."""

    def __init__(self, limits: Limits, output: _Output, protect=()):
        self.limits = limits
        self.folder = tempfile.mkdtemp(prefix="lab2a-grade-")
        # the inputs and taps the grader hands the student's forward: this process reads them back itself
        self.region = shared.Region()
        requests_read, requests_write = os.pipe()
        results_read, results_write = os.pipe()
        out_read, out_write = os.pipe()
        status_read, status_write = os.pipe()
        theirs = [requests_read, results_write, out_write, status_write, self.region.fd]
        try:
            self.pid, self.pidfd = fork_server(limits).spawn(self.folder, protect, theirs, limits)
        except GraderError:
            for fd in theirs[:4] + [requests_write, results_read, out_read, status_read]:
                os.close(fd)
            self.region.close()
            remove_folder(self.folder)
            raise
        for fd in theirs[:4]:
            os.close(fd)
        self.region.release_fd()  # the worker has its own mapping; this process keeps its own
        self.requests, self.results, self.status = requests_write, results_read, status_read
        os.set_blocking(self.requests, False)
        self.watched = (-1e9, 0.0)  # (when the worker was last looked at, how long the look took)
        self.buffer = bytearray()
        self.stopped = False
        self.sandbox = None
        self.next_id = 0
        self.drainer = threading.Thread(target=output.drain, args=(out_read,), daemon=True)
        self.drainer.start()

    def ready(self) -> dict:
        """Wait for the worker's ready message (its imports and confinement done); what it enforces."""
        if self.sandbox is None:
            try:
                message = self._next(time.monotonic() + self.limits.startup)
            except StepFailed as failure:
                self.stop()
                raise GraderError(f"the worker process could not start: {failure.message}") from None
            if message.get("ready") is not True or not isinstance(message.get("sandbox"), dict):
                self.stop()
                raise GraderError(f"the worker process sent {str(message)[:200]} instead of its ready message")
            self.sandbox = message["sandbox"]
        return self.sandbox

    def operation(self, operation: str, args: dict, deadline: float, quiet: bool = False) -> dict:
        """One operation of sandbox/ops.py; the inputs of filter_calls go through the shared region."""
        def send(name, sent):
            return self.exchange({"op": name, "args": sent, "quiet": quiet}, deadline)
        return shared.exchange(self.region, operation, args, send)

    def exchange(self, message: dict, deadline: float, progress=None) -> dict:
        """Send one request and return its answer, both before the deadline; StepFailed otherwise."""
        if self.stopped:
            raise StepFailed("ended", "the Python process running your code had ended")
        self.next_id += 1
        view = memoryview(transport.encode({"id": self.next_id, **message}))
        while view:  # a worker that stopped reading can't block the grader: every write has the deadline
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._lost("timeout")
            if not select.select([], [self.requests], [], min(remaining, 0.1))[1]:
                self._watch()
                continue
            try:
                view = view[os.write(self.requests, view):]
            except BlockingIOError:
                continue
            except OSError:
                break  # the worker ended: reading its answer says how
        return self.answer(self.next_id, deadline, progress)

    def answer(self, ident: int, deadline: float, progress=None) -> dict:
        """The answer to request `ident`; progress(message) for the messages before it; StepFailed."""
        while True:
            message = self._next(deadline)
            if message.get("id") != ident:
                raise self._lost("protocol", "an answer to another request")
            if "statement" in message and len(message) == 2:
                # a statement ended: a limit it passed is its own, not the next one's (looked at before the next
                # is noted as running; a statement of a few milliseconds is looked at less often, see _watch)
                self._watch(every=0)
                if progress:
                    progress(message)
                continue
            # the step ended: a limit passed faster than polled is this step's, never a later one's
            self._watch(force=True)
            return message

    def _next(self, deadline: float) -> dict:
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self.buffer[:newline])
                del self.buffer[:newline + 1]
                try:
                    message = transport.decode(line)
                except transport.TransportError as error:
                    raise self._lost("protocol", str(error)) from None
                if not isinstance(message, dict):
                    raise self._lost("protocol", "a message is not a JSON object")
                return message
            if len(self.buffer) > self.limits.max_message:
                raise self._lost("protocol", f"a message over the {self.limits.max_message / 1e6:.0f} MB the grader "
                                             f"accepts")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._lost("timeout")
            ready, _, _ = select.select([self.results], [], [], min(remaining, 0.1))
            if not ready:
                self._watch()
                continue
            chunk = os.read(self.results, 1 << 20)
            if not chunk:
                raise self._lost("ended")
            self.buffer += chunk

    def _watch(self, every: float = 0.1, force: bool = False) -> None:
        """While the worker runs: its folder and its threads within the limits, or it is stopped. Looked at
        once `every` seconds have passed since the last look, and ten times as long as that look took (a
        folder nested thousands deep must not take the CPU the student's code is timed on); if `force`d, now,
        unless a look takes over 10 ms (then the ten-times rule still holds)."""
        now = time.monotonic()
        last, took = self.watched
        if force:
            due = now if took <= 0.01 else last + 10 * took
        else:
            due = last + max(every, 10 * took)
        if now < due:
            return
        over = _over(self.folder, self.limits, self.pid)
        if over:
            raise self._lost(over)
        if _threads(self.pid) > self.limits.threads:
            raise self._lost("threads")
        self.watched = (now, time.monotonic() - now)

    def _lost(self, kind: str, detail: str = "") -> StepFailed:
        """Stop the worker; the failure that says why, for the student."""
        if kind == "ended":
            message = self._end_reason()
        elif kind == "timeout":
            message = (f"timed out after {self.limits.timeout:g} s: your code did not finish (an infinite loop, or "
                       f"very slow code?)")
        elif kind == "disk":
            message = (f"your code wrote more than {self.limits.disk >> 20} MiB of files while it was graded, so "
                       f"the grader stopped it")
        elif kind == "threads":
            message = (f"your code started more than {self.limits.threads} threads while it was graded, so the grader "
                       f"stopped it")
        elif kind == "files":
            message = (f"your code made more than {self.limits.files} files and folders while it was graded, so the "
                       f"grader stopped it")
        elif kind == "budget":
            message = (f"not run: your notebook used up the {self.limits.budget:g} s of grading it may take in all "
                       f"(slow or endless statements, each stopped after {self.limits.timeout:g} s)")
        else:
            message = (f"the grader could not read what the Python process running your code sent ({detail}); did "
                       f"your code write to the grader's channel?")
        self.stop()
        return StepFailed(kind, message)

    def signal(self, number: int) -> None:
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, number)
            else:
                os.kill(self.pid, number)
        except OSError:
            pass

    def _exit_status(self, timeout: float) -> str:
        """How the worker ended, as the fork server wrote it ("exit 3", "signal 9"); "" if not known."""
        if not select.select([self.status], [], [], timeout)[0]:
            return ""
        try:
            return os.read(self.status, 64).decode("ascii", "replace")
        except OSError:
            return ""

    def _end_reason(self) -> str:
        status = self._exit_status(5)
        if not status:
            return "your code closed the grader's channel to the Python process running it"
        kind, _, value = status.partition(" ")
        if kind == "signal":
            try:
                name = signal.Signals(int(value)).name
            except ValueError:
                name = f"signal {value}"
            why = {"SIGSEGV": "a segmentation fault: a crash in native code",
                   "SIGKILL": "killed, by the system (out of memory?)",
                   "SIGABRT": "aborted, e.g. a failed allocation in native code",
                   "SIGBUS": "a bus error: a crash in native code",
                   "SIGSYS": "a system call the sandbox forbids"}.get(name, "a signal")
            return f"the Python process running your code died ({name}: {why})"
        return (f"your code ended the Python process running it (exit code {value}: os._exit({value}) or a crash); "
                f"sys.exit() is caught, os._exit() is not")

    def stop(self) -> None:
        """Kill the worker (it can start no other process) and remove its folder (once)."""
        if self.stopped:
            return
        self.stopped = True
        self.signal(signal.SIGKILL)
        self._exit_status(10)  # reaped: its folder can go
        for fd in (self.requests, self.results, self.status, self.pidfd):
            try:
                if fd is not None:
                    os.close(fd)
            except OSError:
                pass
        self.drainer.join(timeout=2)
        self.region.close()
        remove_folder(self.folder)


@dataclass
class CellRun:
    """A student cell as the sandbox runs it: its statements, less those skipped so far."""
    label: str
    filename: str
    source: str                                # the cell's Python (layout.ipython_source); the worker parses it
    flags: int                                 # the compiler flags it is parsed and compiled with (layout.py)
    statements: list                           # {"index", "line"} of every top-level node that runs by the rule
    skipped: dict = field(default_factory=dict)   # statement index -> why it is skipped (it timed out, ...)
    failures: dict = field(default_factory=dict)  # statement index -> what it raised

    def request(self) -> dict:
        kept = [s for i, s in enumerate(self.statements) if i not in self.skipped]
        return {"run": {"label": self.label, "filename": self.filename, "source": self.source, "flags": self.flags,
                        "statements": kept}}

    def index(self, position: int) -> int:
        """The statement index of the position-th statement sent."""
        return self.sent()[position]

    def sent(self) -> list[int]:
        """The statement index of each statement sent, in order."""
        return [i for i in range(len(self.statements)) if i not in self.skipped]


def _progress(worker: Worker, cell: CellRun):
    """(the positions of the statements started so far, the callback that notes them): a position that is
    not the next one (sent by the student's code, say) ends the worker as a protocol error."""
    running, sent = [], len(cell.request()["run"]["statements"])

    def progress(message):
        index = message["statement"]
        if type(index) is not int or not 0 <= index < sent or (running and index <= running[-1]):
            raise worker._lost("protocol", "a progress message out of order")
        running.append(index)
    return running, progress


class Session:
    """The sandbox for one submission: cells and checks, in notebook order, over as many workers as it takes."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS, protect=()):
        self.limits = limits
        self.protect = tuple(str(p) for p in protect)
        self.output = _Output(limits.output)
        self.worker = None
        self.history = []        # CellRun, in the order they ran
        self.workers = 0
        self.sandbox = None
        self.ends = None         # when the submission's time budget runs out (set by its first step)

    def _deadline(self) -> float:
        """The end of the next step: its own limit, or the submission's budget if that comes first."""
        now = time.monotonic()
        if self.ends is None:
            self.ends = now + self.limits.budget
        if now >= self.ends:
            raise StepFailed("budget", f"not run: your notebook used up the {self.limits.budget:g} s of grading it may "
                                       f"take in all (slow or endless statements, each stopped after "
                                       f"{self.limits.timeout:g} s)")
        return min(now + self.limits.timeout, self.ends)

    def warm(self) -> None:
        """Start the fork server now, if it isn't yet (it imports torch while the grader reads the notebook)."""
        fork_server(self.limits)

    def _live(self) -> Worker:
        if self.worker is None or self.worker.stopped:
            self.worker = self._fresh()
        return self.worker

    def _fresh(self, output=None) -> Worker:
        """A new worker with the cells run so far run again. A statement that ran then but breaks the worker
        now (a thread it started went past a limit only later) is skipped from then on, and the replay
        starts again; the budget bounds it all (StepFailed "budget")."""
        while True:
            worker = Worker(self.limits, output or self.output, self.protect)
            self.sandbox = worker.ready()
            self.workers += 1
            for cell in self.history:
                running, progress = _progress(worker, cell)
                try:
                    worker.exchange(cell.request(), self._deadline(), progress)
                except StepFailed as failure:
                    worker.stop()
                    if failure.kind == "budget" or not running:
                        raise
                    cell.skipped[cell.index(running[-1])] = failure.message
                    break
            else:
                return worker

    def run_cell(self, cell: CellRun) -> CellRun:
        """Run the cell; a statement that times out or ends the process is skipped and the cell run again."""
        while True:
            running = []
            try:
                worker = self._live()   # (a worker's start is not the cell's time)
                deadline = self._deadline()
                running, progress = _progress(worker, cell)
                answer = worker.exchange(cell.request(), deadline, progress)
            except StepFailed as failure:
                if not running or failure.kind == "budget":
                    cell.skipped.update({i: failure.message for i in range(len(cell.statements))
                                         if i not in cell.skipped})
                    self.history.append(cell)
                    return cell
                cell.skipped[cell.index(running[-1])] = failure.message
                continue
            ran = answer.get("ran")
            failures = ran.get("failures") if isinstance(ran, dict) else None
            sent = cell.sent()  # (once: a cell may hold a hundred thousand failing statements)
            for failure in failures if isinstance(failures, list) else []:
                if isinstance(failure, dict) and type(failure.get("statement")) is int \
                        and 0 <= failure["statement"] < len(sent):
                    cell.failures[sent[failure["statement"]]] = str(failure.get("message", ""))[:500]
            self.history.append(cell)
            return cell

    @contextlib.contextmanager
    def check(self, hidden: bool = False):
        """ask(operation, **args) -> answer, for one check: its time limit runs from its first operation
        (once a worker is ready) to its last. A hidden check runs in a worker of its own, thrown away after
        it, whose prints go nowhere, while the main worker is stopped (SIGSTOP): nothing of the hidden
        inputs can reach a later cell, the report, or a thread of the main worker watching."""
        deadline, own = [], []
        paused = self.worker if hidden and self.worker is not None and not self.worker.stopped else None
        if paused:
            paused.signal(signal.SIGSTOP)

        def ask(operation: str, **args) -> dict:
            if hidden:
                if not own or own[-1].stopped:
                    own.append(self._fresh(output=_Output(0)))
                worker = own[-1]
            else:
                worker = self._live()
            if not deadline:
                deadline.append(self._deadline())
            return worker.operation(operation, args, deadline[0], quiet=hidden)
        try:
            yield ask
        finally:
            for worker in own:
                worker.stop()
            if paused:
                paused.signal(signal.SIGCONT)

    def printed(self) -> tuple[str, int]:
        """The kept start of the student's prints, and how many bytes were printed in all (after close(),
        so the last prints are in)."""
        with self.output.lock:
            return bytes(self.output.kept).decode("utf-8", "replace"), self.output.total

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.worker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
