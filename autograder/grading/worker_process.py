"""The grader's side of one worker process (forked by the fork server, fork_server.py): its pipes, its folder,
and what the student is told when it is lost.

Every request is written without blocking, so a worker that stops reading costs its step's time, not the
grader. The student's prints are drained apart from the answers (Output keeps the first bytes). While a
step runs, the worker's folder (and files it keeps open or mapped after unlinking them) and its number of
threads are watched against the limits (limits.py); a worker past one, timed out, ended or breaking the
protocol is stopped, and the step fails (StepFailed) with a message for the student.
"""

import os
import select
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time

from lab2a.autograder.grading.errors import GraderError, StepFailed
from lab2a.autograder.grading.fork_server import fork_server
from lab2a.autograder.grading.limits import Limits
from lab2a.autograder.sandbox import shared, transport


class Output:
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



class Worker:
    """One worker process (forked by the fork server) with its pipes and folder."""

    def __init__(self, limits: Limits, output: Output, protect=()):
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
                raise self.lost("timeout")
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
                raise self.lost("protocol", "an answer to another request")
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
                    raise self.lost("protocol", str(error)) from None
                if not isinstance(message, dict):
                    raise self.lost("protocol", "a message is not a JSON object")
                return message
            if len(self.buffer) > self.limits.max_message:
                raise self.lost("protocol", f"a message over the {self.limits.max_message / 1e6:.0f} MB the grader "
                                             f"accepts")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self.lost("timeout")
            ready, _, _ = select.select([self.results], [], [], min(remaining, 0.1))
            if not ready:
                self._watch()
                continue
            chunk = os.read(self.results, 1 << 20)
            if not chunk:
                raise self.lost("ended")
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
            raise self.lost(over)
        if _threads(self.pid) > self.limits.threads:
            raise self.lost("threads")
        self.watched = (now, time.monotonic() - now)

    def lost(self, kind: str, detail: str = "") -> StepFailed:
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

