"""Both halves of a check in one process: for the notebook's test cells and for tests."""

import contextlib
import io
import warnings

from .registry import implementation, run_judge, run_probe
from .verdict import StudentError, Verdict, failed


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


def check_in_notebook(name: str, namespace: dict) -> None:
    """For an nbgrader test cell: check_in_notebook("filter_outputs", globals()).

    nbgrader fails a test cell that writes to stderr and reads a returned number as partial credit, so
    this returns None and keeps stderr silent (warnings off, and the student's own stderr output, e.g. a
    tqdm bar, swallowed). A pass or a skip prints one line; a fail raises AssertionError(message).
    """
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        verdict = run_in_process(name, namespace)
    if verdict.status == "fail":
        raise AssertionError(verdict.message)
    mark = "✓" if verdict.passed else "–"
    print(f"{mark} {name}{' skipped' if verdict.status == 'skipped' else ''}: {verdict.message}")
