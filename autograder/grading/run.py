"""Both halves of a check in one process: for the notebook's test cells and for tests."""

import contextlib
import io
import signal
import threading
import warnings

from lab2a.autograder.checks.registry import implementation, run_judge, run_probe
from lab2a.autograder.judge.verdict import StudentError, Verdict, failed


def verdict_for_error(name: str, error: BaseException) -> Verdict:
    """The fail verdict for an exception out of a probe: the student's function and its error."""
    if isinstance(error, StudentError):
        return failed(error.message)
    return failed(f"{name}: running your code failed with {type(error).__name__}: {error}")


def run_in_process(name: str, namespace: dict) -> Verdict:
    """probe then judge in this process; an exception in the student's code becomes a fail verdict.
    An unknown check name, or a hidden one left out of this copy, raises KeyError."""
    implementation(name)
    try:
        data = run_probe(name, namespace)
    except Exception as error:
        return verdict_for_error(name, error)
    return run_judge(name, data)


NOTEBOOK_TIMEOUT = 20.0  # seconds per check in a notebook, as `lab2a grade` allows per check


class CheckTimeout(BaseException):  # not an Exception: no `except Exception` in student code catches it
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the check after `seconds` (an endless loop in the student's code), where a timer signal
    can be had: the main thread on a POSIX system, as in a Jupyter kernel. Elsewhere, no limit."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
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


def check_in_notebook(name: str, namespace: dict) -> None:
    """For an nbgrader test cell: check_in_notebook("filter_outputs", globals()).

    nbgrader fails a test cell that writes to stderr and reads a returned number as partial credit, so
    this returns None and keeps stderr silent (warnings off, and the student's own stderr output, e.g. a
    tqdm bar, swallowed). A pass or a skip prints one line; a fail raises AssertionError(message).
    """
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), _time_limit(NOTEBOOK_TIMEOUT):
            warnings.simplefilter("ignore")
            verdict = run_in_process(name, namespace)
    except CheckTimeout:
        raise AssertionError(f"{name}: timed out after {NOTEBOOK_TIMEOUT:g} s: your code did not finish "
                             f"(an infinite loop?)") from None
    if verdict.status == "fail":
        raise AssertionError(verdict.message)
    mark = "✓" if verdict.passed else "–"
    print(f"{mark} {name}{' skipped' if verdict.status == 'skipped' else ''}: {verdict.message}")
