"""What the intake did to a student's notebook, recorded where the student can't write.

A stand-in (intake.py: the release, unanswered, graded 0 with the reason) must be known as one later: when
`lab2a autograde` runs again, when the grader fills in the report (autograde.py) and when the class report
reads it (class_report/load.py). Nothing inside submitted/<student>/ can say so: nbgrader's collect copies
the student's whole folder there, so a mark in the notebook (its metadata) or a file beside it may be the
student's own. The record is kept in the course folder instead, in intake/<assignment>/<student>.json,
and it is bound to the exact bytes the intake wrote: a stand-in is recognised only while lab2a.ipynb is
still that file (the SHA-256 of its bytes). A notebook the student made to look like a stand-in, with any
mark or text in it, is graded as the student's; a notebook collected again replaces the stand-in and the
record no longer matches it.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

FOLDER = "intake"


@dataclass(frozen=True)
class StandIn:
    problem: str             # why the student's file could not be graded (the grader's words)
    kept: str | None         # the name the student's file is kept under beside the stand-in, if any


def _path(course: Path, assignment: str, student: str) -> Path:
    return Path(course) / FOLDER / assignment / f"{student}.json"


def _digest(notebook: Path) -> str | None:
    try:
        return hashlib.sha256(Path(notebook).read_bytes()).hexdigest()
    except OSError:
        return None


def remember(course: Path, assignment: str, student: str, notebook: Path, stand_in: StandIn) -> None:
    """Record that `notebook` (as its bytes are now) is the stand-in the intake wrote for the student."""
    path = _path(course, assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"sha256": _digest(notebook), "problem": stand_in.problem, "kept": stand_in.kept}
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=1), encoding="utf-8")
    partial.replace(path)


def forget(course: Path, assignment: str, student: str) -> None:
    _path(course, assignment, student).unlink(missing_ok=True)


def stand_in(course: Path, assignment: str, student: str, notebook: Path) -> StandIn | None:
    """The stand-in the intake wrote, if `notebook` is still exactly that file; else None."""
    try:
        record = json.loads(_path(course, assignment, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("problem"), str):
        return None
    if record.get("sha256") is None or record.get("sha256") != _digest(notebook):
        return None
    kept = record.get("kept")
    return StandIn(record["problem"], kept if isinstance(kept, str) else None)
