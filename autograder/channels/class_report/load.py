"""The graded results of a class, from a course folder or a folder of JSON reports, each student's as an Entry.

A course folder (nbgrader's, with gradebook.db): the students with a submission of the assignment in the
gradebook or a folder in submitted/; each one's grade of record from the gradebook, and the full report the
grader wrote into the autograded notebook's metadata (channels/nbgrader/autograde.py: metadata "lab2a",
"report"); a stand-in for an unreadable submission (channels/nbgrader/intake.py) is marked there too, by the
grader ("stand_in", from the course's record of it, never from what the student's notebook says). A folder
of `lab2a grade --json` results: one <student>.json each.

What can't be summarised raises BadInput with one line saying what was found and what was expected.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from lab2a.autograder.checks.manifest import CHECKS
from lab2a.autograder.grading.report import ASSIGNMENT, METADATA, SCHEMA_VERSION

EXPECTED = ("a course folder with nbgrader's gradebook.db, or a folder of `lab2a grade --json` results "
            "(`lab2a grade submitted/ --json reports/`)")
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


class BadInput(Exception):
    """The source can't be summarised; the message is one line: what was found, what was expected."""


@dataclass
class Entry:
    student: str
    report: dict | None         # the JSON report (grading/report.py), None when there is none
    score: float                # the grade of record: the gradebook's, else the report's
    max_score: float
    problem: str | None = None  # why this submission was not graded as the student's own work

    @property
    def graded(self) -> bool:
        """Graded from the student's own code: its checks say what the student got wrong."""
        return self.report is not None and self.problem is None


def load(source: Path, assignment: str = ASSIGNMENT) -> list[Entry]:
    """Every student's result, sorted by student."""
    source = Path(source)
    if not source.exists():
        raise BadInput(f"{source} does not exist; expected {EXPECTED}")
    if not source.is_dir():
        raise BadInput(f"{source} is a file; expected {EXPECTED}")
    if (source / "gradebook.db").is_file():
        return from_course(source, assignment)
    if (source / "nbgrader_config.py").is_file() or (source / "source").is_dir():
        raise BadInput(f"{source} is a course folder without gradebook.db: nothing has been autograded yet "
                       f"(expected gradebook.db after `lab2a autograde`)")
    reports = sorted(p for p in source.glob("*.json") if p.is_file())
    if not reports:
        found = sum(1 for _ in source.iterdir())
        raise BadInput(f"{source} holds no gradebook.db and no *.json ({found} other entries); expected {EXPECTED}")
    return from_reports(reports, assignment)


def _checked(report, where: str, assignment: str) -> dict:
    """The report if it is a lab2a report of this schema version, for this assignment; else BadInput."""
    if not isinstance(report, dict) or "schema_version" not in report or "tests" not in report:
        raise BadInput(f"{where} is not a `lab2a grade --json` report (no schema_version and tests); "
                       f"expected {EXPECTED}")
    if report["schema_version"] != SCHEMA_VERSION:
        raise BadInput(f"{where} is a report of schema_version {report['schema_version']!r}; expected "
                       f"{SCHEMA_VERSION}: grade again with this lab2a")
    names = [t.get("name") for t in report["tests"] if isinstance(t, dict)]
    if report.get("assignment") != assignment or not set(names) <= {c.name for c in CHECKS}:
        raise BadInput(f"{where} is a result of assignment {report.get('assignment')!r} (checks "
                       f"{', '.join(map(str, names[:4]))}); expected {assignment!r}")
    return report


def _problem(report: dict) -> str | None:
    if report.get("grader_failed"):
        return f"grader failure: {report.get('problem')}"
    if report.get("problem"):
        return f"not gradeable: {report['problem']}"
    return None


def from_reports(paths: list[Path], assignment: str = ASSIGNMENT) -> list[Entry]:
    entries = []
    for path in paths:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise BadInput(f"{path} is not readable JSON ({type(error).__name__}); expected {EXPECTED}") from None
        report = _checked(report, str(path), assignment)
        entries.append(Entry(path.stem, report, report["score"], report["max_score"], _problem(report)))
    return entries


def from_course(course: Path, assignment: str = ASSIGNMENT) -> list[Entry]:
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            try:
                gradebook.find_assignment(assignment)
            except MissingEntry:
                names = [a.name for a in gradebook.assignments]
                raise BadInput(f"{course / 'gradebook.db'} has no assignment {assignment!r} (it has: "
                               f"{', '.join(names) or 'none'}); expected {assignment!r}, as `nbgrader "
                               f"generate_assignment {assignment}` adds it") from None
            grades = {s.student.id: (s.score, s.max_score) for s in gradebook.assignment_submissions(assignment)}
    except BadInput:
        raise
    except Exception as error:  # noqa: BLE001 (a damaged or foreign database: one line, no traceback)
        raise BadInput(f"{course / 'gradebook.db'} can't be read as nbgrader's gradebook ({type(error).__name__}); "
                       f"expected {EXPECTED}") from None
    submitted = {p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir()}
    students = sorted(set(grades) | submitted)
    if not students:
        raise BadInput(f"{course} has assignment {assignment!r} in its gradebook but no submission of it; expected "
                       f"submitted/<student>/{assignment}/ graded by `lab2a autograde`")
    return [_course_entry(course, assignment, student, grades.get(student)) for student in students]


def _course_entry(course: Path, assignment: str, student: str, grade) -> Entry:
    path = course / "autograded" / student / assignment / NOTEBOOK
    score, max_score = grade if grade else (0.0, 0.0)
    if grade is None or not path.is_file():
        return Entry(student, None, score, max_score, "nbgrader left no graded notebook (see `lab2a autograde`'s log)")
    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return Entry(student, None, score, max_score, f"the autograded notebook can't be read ({type(error).__name__})")
    graded = metadata.get(METADATA) if isinstance(metadata, dict) else None
    graded = graded if isinstance(graded, dict) else {}
    report = graded.get("report")
    if report is None:
        return Entry(student, None, score, max_score, "graded without a full report (by an older lab2a): grade "
                                                      "again with `lab2a autograde --force`")
    report = _checked(report, str(path), assignment)
    stand_in = graded.get("stand_in")
    stand_in = stand_in.get("problem") if isinstance(stand_in, dict) else None
    problem = f"stand-in graded: {stand_in}" if isinstance(stand_in, str) else _problem(report)
    return Entry(student, report, score, max_score, problem)
