"""Grading a notebook file in isolation: read the student's code (submission.py), run it and the probes
in a worker process (isolate.py), judge the plain data here (registry.run_judge), and report
(report.py).

grade(path) runs every check, hidden ones included; grade(path, hidden=False) the visible ones only
(`lab2a check`). A bad submission never raises: it is graded, with a message for every check.
GraderError means the grader itself could not run.
"""

import contextlib

import torch

from lab2a.autograder.grading import isolate
from lab2a.autograder.grading.isolate import GraderError, Limits
from lab2a.autograder.checks.manifest import CHECKS
from lab2a.autograder.checks.registry import available, run_judge
from lab2a.autograder.grading.report import Report, TestResult
from lab2a.autograder.grading.run import verdict_for_error
from lab2a.autograder.grading.submission import SOLUTION_CELLS, Submission, read
from lab2a.autograder.judge.verdict import StudentError

_MEMORY_SIGNS = ("MemoryError", "can't allocate memory", "Cannot allocate memory", "out of memory",
                 "not enough memory", "std::bad_alloc")


def _memory_hint(message: str, limits: Limits) -> str:
    if any(sign in message for sign in _MEMORY_SIGNS):
        return (f"Your code tried to allocate too much memory (the grader allows {limits.memory / 2 ** 30:g} GiB). "
                + message)
    return message


def _strings(value, keys) -> bool:
    return isinstance(value, dict) and set(value) == set(keys) and all(isinstance(value[k], str) for k in keys)


def _verdict(name: str, outcome: isolate.Outcome) -> tuple[str, str]:
    """(status, message) for one check's outcome; never raises."""
    kind, value = outcome.kind, outcome.value
    try:
        if kind == "data":
            verdict = run_judge(name, value)
            return verdict.status, verdict.message
        if kind == "error" and _strings(value, ("where", "kind", "text", "detail")):
            return "fail", verdict_for_error(name, StudentError(**value)).message
        if kind == "raised" and _strings(value, ("kind", "text")):
            return "fail", f"{name}: running your code failed with {value['kind']}: {value['text']}"
        if kind == "exit" and isinstance(value, str):
            return "error", (f"your code called {value} during this check, so the check could not finish: "
                             f"don't call sys.exit() or exit() in your solution.")
        if kind in ("unsendable", "timeout", "ended", "protocol") and isinstance(value, str):
            return "error", value
    except Exception as error:  # a judge on malformed data: the grader's own code must not crash on it
        return "error", (f"the grader could not use the data your notebook's code produced for this check "
                         f"({type(error).__name__}: {str(error)[:200]}).")
    return "error", "the grader could not use what your notebook's code sent back for this check."


@contextlib.contextmanager
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the judges' reference runs: like the worker, and fair to parallel grading
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def checks_for(hidden: bool, only=None) -> list:
    wanted = [c for c in CHECKS if hidden or c.visible]
    if only:
        unknown = set(only) - {c.name for c in wanted}
        if unknown:
            raise GraderError(f"no such {'check' if hidden else 'visible check'}: {', '.join(sorted(unknown))} "
                              f"(checks: {', '.join(c.name for c in wanted)})")
        wanted = [c for c in wanted if c.name in only]
    absent = [c.name for c in wanted if c.name not in available()]
    if absent:
        raise GraderError(f"this copy of the autograder lacks the code of the hidden checks ({', '.join(absent)}): "
                          f"it can't grade. `lab2a check` runs the visible checks.")
    return wanted


def grade(path, hidden: bool = True, limits: Limits = Limits(), only=None) -> Report:
    """only: the names of the checks to run (default: all of them, or all visible ones)."""
    checks = checks_for(hidden, only)
    with isolate.Session(limits) as session:
        session.warm()  # the worker imports torch while the notebook is read
        submission = read(path)
        if not submission.readable:
            return _unreadable(path, hidden, submission, checks, limits)
        result = session.run(list(submission.cells), [c.name for c in checks])
    return _report(path, hidden, submission, checks, limits, result)


def ungradeable(path, problem: str, hidden: bool = True, limits: Limits = Limits()) -> Report:
    """The report for a submission with nothing to grade (e.g. a folder without its notebook): 0, and why."""
    return _unreadable(path, hidden, Submission(str(path), problem=problem), checks_for(hidden), limits)


def _unreadable(path, hidden: bool, submission, checks: list, limits: Limits) -> Report:
    return Report(str(path), "all" if hidden else "visible",
                  [TestResult(c.name, c.task, c.visible, 0, c.points, "error",
                              f"Your notebook could not be read: {submission.problem}") for c in checks],
                  notes=list(submission.notes), problem=submission.problem, timeout=limits.timeout, memory=limits.memory)


def _report(path, hidden: bool, submission, checks: list, limits: Limits, result: isolate.RunResult) -> Report:
    report = Report(str(path), "all" if hidden else "visible", [], notes=list(submission.notes),
                    timeout=limits.timeout, memory=limits.memory, confinement=result.confinement)
    report.cells = [{"name": r.cell.name, "kind": r.cell.kind, "status": "ok" if r.ok else "error",
                     "message": r.message} for r in result.cells]
    report.output = result.output.decode("utf-8", "replace")
    report.output_bytes = result.output_bytes

    # what went wrong with each task's solution cell, to add to that task's failing checks
    task_notes = {}
    for r in result.cells:
        if r.cell.kind == "solution" and not r.ok:
            task_notes.setdefault(r.cell.task, []).append(r.message)
    for grade_id in submission.missing:
        task = SOLUTION_CELLS[grade_id][0]
        said = [note for note in submission.notes if f"solution cell '{grade_id}'" in note]
        task_notes.setdefault(task, []).extend(said[:1] or [f"The solution cell '{grade_id}' is missing."])

    with _one_thread():
        for check in checks:
            status, message = _verdict(check.name, result.outcomes[check.name])
            message = _memory_hint(message, limits)
            if status in ("fail", "error") and task_notes.get(check.task):
                message += " [" + " ".join(task_notes[check.task]) + "]"
            points = check.points if status == "pass" else 0
            report.tests.append(TestResult(check.name, check.task, check.visible, points, check.points, status, message))
    return report
