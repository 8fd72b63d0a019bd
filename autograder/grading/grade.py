"""Grading a notebook: its plan (layout.py), the student's cells and the checks' operations in the sandbox
(session.py), every verdict decided here, in the grader's process (checks/registry.py), and the report.

grade_file(path) runs every check, hidden ones included, with the course's grading key; grade_file(path,
hidden=False) the visible ones with the public key (`lab2a check`). grade_notebook() does the same
for a notebook already read (nbgrader's preprocessor). A bad submission never raises: it is graded,
with a message for every check. GraderError means the grader itself could not run.
grade_submission(where) grades a file, or the notebook chosen in a submission folder (grade_chosen: a choice
already made), and never raises: the grader's own failure is a report too (the channels' entry point).
"""

import contextlib
import hashlib
import json
import re
import time
from functools import cache
from pathlib import Path

import torch

from lab2a.autograder.checks.cases import PUBLIC_KEY
from lab2a.autograder.checks.manifest import CHECKS, check
from lab2a.autograder.checks.registry import available, run_check
from lab2a.autograder.grading.environment import fingerprint
from lab2a.autograder.grading.errors import GraderError
from lab2a.autograder.grading.installation import release_notebook
from lab2a.autograder.grading.layout import SOLUTION_CELLS, Plan, plan
from lab2a.autograder.grading.limits import DEFAULT_LIMITS, Limits
from lab2a.autograder.grading.reaching import review
from lab2a.autograder.grading.report import Report, TestResult
from lab2a.autograder.grading.session import CellRun, Session
from lab2a.autograder.grading.submission import Choice, choose, load
from lab2a.autograder.judge.verdict import Verdict

_MEMORY_SIGNS = ("MemoryError", "can't allocate memory", "Cannot allocate memory", "out of memory",
                 "not enough memory", "std::bad_alloc")
MAX_LISTED = 20  # failing statements named per cell in the report
_UNDEFINED = re.compile(r"name '(\w+)' is not defined|\b(\w+) is not defined: run the notebook cell")


def grading_key() -> int:
    try:
        from lab2a.autograder.private.key import grading_key as key
    except ImportError:
        raise GraderError("this copy of the autograder has no grading key (private/): it can only check, not "
                          "grade") from None
    return key()


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


@cache
def _release():
    path = release_notebook()
    return None if path is None else json.loads(path.read_text(encoding="utf-8"))


@contextlib.contextmanager
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the reference runs: like the worker, and fair to parallel grading
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def grade_file(path, hidden: bool = True, limits: Limits = DEFAULT_LIMITS, only=None) -> Report:
    """Read and grade a notebook file; only: the names of the checks to run (default: all, or all visible)."""
    started = time.monotonic()
    checks = checks_for(hidden, only)
    key = grading_key() if hidden else PUBLIC_KEY
    with Session(limits) as session:
        session.warm()  # the worker imports torch while the notebook is read
        notebook, problem = load(path)
        if problem:
            return stamped(unreadable(path, problem, hidden, limits, checks), started)
        return stamped(_graded(str(path), notebook, hidden, key, limits, checks, session), started)


def grade_notebook(notebook, label: str, hidden: bool = True, limits: Limits = DEFAULT_LIMITS, only=None) -> Report:
    """Grade a notebook already read (a dict or nbformat node); label: what the report calls it."""
    started = time.monotonic()
    checks = checks_for(hidden, only)
    key = grading_key() if hidden else PUBLIC_KEY
    with Session(limits) as session:
        session.warm()
        return stamped(_graded(label, notebook, hidden, key, limits, checks, session), started)


def stamped(report: Report, started: float) -> Report:
    """The report with the time since started and the environment it was graded in (this process's)."""
    report.seconds = time.monotonic() - started
    report.environment = fingerprint(report.sandbox)
    return report


def grade_submission(where, hidden: bool = True, limits: Limits = DEFAULT_LIMITS, only=None) -> Report:
    """Grade a notebook file, or the notebook of a submission folder (a student's checkout, Gradescope's
    submission/) chosen by submission.choose. Never raises (see grade_chosen)."""
    folder = Path(where)
    return grade_chosen(choose(folder) if folder.is_dir() else Choice(folder, None), folder, hidden, limits, only)


def grade_chosen(choice: Choice, folder, hidden: bool = True, limits: Limits = DEFAULT_LIMITS, only=None) -> Report:
    """Grade the notebook chosen in a submission folder. Never raises: nothing to grade is 0 points with why;
    a failure of the grader itself is 0 points marked grader_failed, with what went wrong (one submission's
    failure must not cost the others their grades)."""
    started = time.monotonic()
    try:
        if choice.path is None:
            return unreadable(folder, choice.problem, hidden, limits, checks_for(hidden, only))
        report = grade_file(choice.path, hidden=hidden, limits=limits, only=only)
    except Exception as error:  # noqa: BLE001 (a result is written whatever happens; the cause goes in it)
        what = str(error) if isinstance(error, GraderError) else f"{type(error).__name__}: {str(error)[:300]}"
        report = unreadable(choice.path or folder, f"the grader failed, not your code: {what}; grade it again "
                                                   f"alone with `lab2a grade`", hidden, limits,
                            [c for c in CHECKS if (hidden or c.visible) and (not only or c.name in only)])
        report.grader_failed = True
        report.notes.append("GRADER FAILURE: not the student's fault; this grade is not final")
    if choice.note:
        report.notes.insert(0, choice.note)
    return stamped(report, started)


def unreadable(path, problem: str, hidden: bool = True, limits: Limits = DEFAULT_LIMITS, checks=None) -> Report:
    """The report for a submission with nothing to grade: 0 points, and why, for every check."""
    checks = checks if checks is not None else checks_for(hidden)
    return Report(str(path), "all" if hidden else "visible",
                  [TestResult(c.name, c.task, c.visible, 0, c.points, "error",
                              f"Your notebook could not be read: {problem}") for c in checks],
                  problem=problem, timeout=limits.timeout, memory=limits.memory)


def submission_key(key: int, steps: Plan) -> int:
    """The grading key for this submission: the course's key mixed with the student's code, so inputs differ
    from one submission to the next (the expected values one report shows are worth nothing for other code),
    and stay the same for the same code. The public key stays as it is."""
    if key == PUBLIC_KEY:
        return key
    code = "\n\0".join(cell.text for cell in steps.cells)
    return int.from_bytes(hashlib.sha256(f"{key}\0{code}".encode("utf-8", "surrogatepass")).digest()[:7], "big") + 1


def _graded(label: str, notebook, hidden: bool, key: int, limits: Limits, checks: list, session: Session) -> Report:
    steps = plan(notebook, _release(), [c.name for c in checks])
    key = submission_key(key, steps)
    verdicts, ran, order = {}, {}, {}
    with _one_thread():
        for index, (kind, item) in enumerate(steps.steps):
            if kind == "cell":
                if item.problem is None:
                    runs = [{"index": s.index, "line": s.line} for s in item.statements if s.runs]
                    ran[item.name] = session.run_cell(CellRun(item.label, item.filename, item.source, item.flags, runs))
                order[item.name] = index
            else:
                order[item] = index
                with session.check(hidden=not check(item).visible) as ask:
                    verdicts[item] = run_check(item, ask, key)
    session.close()  # the worker's last prints are in once it has ended
    sandbox = dict(session.sandbox or {})
    output, output_bytes = session.printed()
    report = Report(label, "all" if hidden else "visible", [], notes=list(steps.notes), timeout=limits.timeout,
                    memory=limits.memory, sandbox=sandbox, output=output, output_bytes=output_bytes)
    report.cells = [_cell_entry(cell, ran.get(cell.name)) for cell in steps.cells]
    report.review = review(steps.cells)
    task_notes = _task_notes(steps, report.cells)
    for c in checks:
        verdict = verdicts[c.name]
        message = _memory_hint(verdict.message, limits)
        if verdict.status in ("fail", "error", "partial"):
            message += _later_definitions(verdict, steps, order, c.name)
            if task_notes.get(c.task):
                message += " [" + " ".join(task_notes[c.task]) + "]"
        report.tests.append(TestResult(c.name, c.task, c.visible, verdict.score, verdict.max_score, verdict.status,
                                       message, tuple(p.as_dict() for p in verdict.parts)))
    return report


def _cell_entry(cell, run: CellRun | None) -> dict:
    skipped = [{"line": s.line, "statement": s.text[:80]} for s in cell.statements if not s.runs]
    if cell.problem:
        return {"name": cell.name, "kind": cell.kind, "status": "error", "message": f"{cell.label} {cell.problem}.",
                "skipped": skipped}
    problems = []
    statements = [s for s in cell.statements if s.runs]
    failed = sorted({**(run.failures if run else {}), **(run.skipped if run else {})}.items())
    for index, why in failed[:MAX_LISTED]:
        statement = statements[index]
        text = statement.text[:60]
        problems.append(f"line {statement.line} (`{text}`) {why}")
    if len(failed) > MAX_LISTED:
        problems.append(f"and {len(failed) - MAX_LISTED} more statements")
    message = (f"{cell.label}: " + "; ".join(problems) + ". The grader skipped those statements and ran the rest."
               if problems else "")
    return {"name": cell.name, "kind": cell.kind, "status": "error" if problems else "ok", "message": message,
            "skipped": skipped}


def _task_notes(steps: Plan, cells: list) -> dict:
    """What went wrong with each task's solution cells, to add to that task's failing checks."""
    notes = {}
    for cell, entry in zip(steps.cells, cells):
        if cell.task and entry["status"] != "ok":
            notes.setdefault(cell.task, []).append(entry["message"])
    for gid in steps.missing:
        task = SOLUTION_CELLS[gid][0]
        said = [note for note in steps.notes if f"solution cell '{gid}'" in note]
        notes.setdefault(task, []).extend(said[:1] or [f"The solution cell '{gid}' is missing."])
    return notes


def _later_definitions(verdict: Verdict, steps: Plan, order: dict, name: str) -> str:
    """A hint when a check failed on a name that a cell below its test cell defines."""
    missing = {m.group(1) or m.group(2) for m in _UNDEFINED.finditer(verdict.message)}
    for cell in steps.cells:
        if order.get(cell.name, -1) > order[name] and missing & cell.defined_names():
            found = sorted(missing & cell.defined_names())[0]
            return (f" [{found} is defined in {cell.label}, below this check's test cell: a check sees what is defined "
                    f"above it, as with Restart & Run All. Move that cell up.]")
    return ""


def _memory_hint(message: str, limits: Limits) -> str:
    if any(sign in message for sign in _MEMORY_SIGNS):
        return (f"Your code tried to allocate too much memory (the grader allows {limits.memory / 2 ** 30:g} GiB). "
                + message)
    return message
