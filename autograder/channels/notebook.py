"""The test cells of the student's own notebook: check_in_notebook("filter_outputs", globals()).

In a student's Jupyter (and in `nbgrader validate`) the check runs in the notebook's own kernel, on its
live definitions, with the public inputs: quick feedback where nothing is at stake. Grading never
runs these cells: nbgrader's preprocessor and `lab2a grade` fill or replace them with the sandboxed
grader's verdicts (channels/nbgrader/autograde.py).

A pass (or a skip) prints one line; anything less prints a line per part and raises AssertionError,
so Jupyter shows it in red. Nothing is written to stderr, and the cell returns None (nbgrader would
read a number as partial credit).
"""

import contextlib
import io
import signal
import threading
import warnings

from lab2a.autograder.checks.cases import PUBLIC_KEY
from lab2a.autograder.checks.manifest import check
from lab2a.autograder.checks.registry import implementation, run_check
from lab2a.autograder.grading.errors import StepFailed
from lab2a.autograder.grading.limits import Limits
from lab2a.autograder.grading.report import TestResult, check_lines
from lab2a.autograder.sandbox import ops, shared, transport

NOTEBOOK_TIMEOUT = Limits.timeout  # seconds per check: the grader's own limit per step


class CheckTimeout(BaseException):  # not an Exception: no `except Exception` in the student's code catches it
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the check after `seconds` (an endless loop in the student's code), where a timer signal
    can be had: the main thread on a POSIX system, as in a Jupyter kernel. Elsewhere, no limit."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def local_asker(namespace: dict):
    """ask(operation, **args) run in this process on these definitions, through the same plain-data
    format as the sandbox's (so both see the same numbers)."""
    def send(operation: str, args: dict) -> dict:
        sent = transport.decode(transport.encode(args))
        try:
            answer = ops.perform(namespace, operation, sent, reraise=(CheckTimeout,))
        except CheckTimeout:
            raise StepFailed("timeout", f"timed out after {NOTEBOOK_TIMEOUT:g} s: your code did not finish (an "
                                        f"infinite loop, or very slow code?)") from None
        return transport.decode(transport.encode(answer))

    def ask(operation: str, **args) -> dict:
        return shared.exchange(shared.local_region(), operation, args, send)
    return ask


def run_in_process(name: str, namespace: dict) -> TestResult:
    """The check on these definitions, in this process, with the public inputs."""
    implementation(name)  # an unknown name, or a hidden check this copy lacks: KeyError
    c = check(name)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), _time_limit(NOTEBOOK_TIMEOUT):
        warnings.simplefilter("ignore")
        verdict = run_check(name, local_asker(namespace), PUBLIC_KEY)
    return TestResult(name, c.task, c.visible, verdict.score, verdict.max_score, verdict.status, verdict.message,
                      tuple(p.as_dict() for p in verdict.parts))


def check_in_notebook(name: str, namespace: dict) -> None:
    result = run_in_process(name, namespace)
    text = "\n".join(check_lines(result))
    if result.status in ("pass", "skipped"):
        print(text)
        return
    raise AssertionError(text)
