"""The grader's side of the sandbox for one submission: it has workers started (worker_process.py, from the fork
server of fork_server.py), hands them the student's cells and the checks' operations one request at a time,
and reads plain data back, within the limits of limits.py.

When the worker is lost (a timeout, a crash, os._exit, a kill), the next step starts a new one and
replays the cells that had run, so one failure costs one step. A statement that was running when its
cell timed out or its process died is skipped from then on.
"""

import contextlib
import signal
import time
from dataclasses import dataclass, field

from lab2a.autograder.grading.errors import StepFailed
from lab2a.autograder.grading.fork_server import fork_server
from lab2a.autograder.grading.limits import DEFAULT_LIMITS, Limits
from lab2a.autograder.grading.worker_process import Output, Worker


@dataclass
class CellRun:
    """A student cell as the sandbox runs it: its statements, less those skipped so far."""
    label: str
    filename: str
    source: str                                # the cell's Python (ipython_cells.ipython_source); the worker parses it
    flags: int                                 # the compiler flags it is parsed and compiled with (ipython_cells.py)
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
            raise worker.lost("protocol", "a progress message out of order")
        running.append(index)
    return running, progress


class Session:
    """The sandbox for one submission: cells and checks, in notebook order, over as many workers as it takes."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS, protect=()):
        self.limits = limits
        self.protect = tuple(str(p) for p in protect)
        self.output = Output(limits.output)
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
                    own.append(self._fresh(output=Output(0)))
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
