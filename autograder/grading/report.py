"""A grading result: per check its points, parts and message, the total, how the student's cells ran and
what the sandbox enforced; as JSON and as a table for the terminal.

The JSON (schema_version 3) is described once, in docs/ta.md ("The report (JSON)"); its JSON Schema,
tests/schemas/lab2a-report-v3.schema.json, is checked against real reports by the tests.
"""

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from lab2a.autograder.checks.manifest import ANSWERS, written_points
from lab2a.autograder.grading.terminal import terminal_text

SCHEMA_VERSION = 3
ASSIGNMENT = "lab2a"   # nbgrader's name of the assignment, and its notebook's (lab2a.ipynb)
METADATA = "lab2a"   # the notebook metadata key where the nbgrader channel keeps the grade and this report
STATUSES = ("pass", "partial", "fail", "error", "skipped")


def printable(text: str) -> str:
    """Text that can be written as UTF-8: a lone surrogate (a student's chr(0xD800), a "\\udce9" escape in a
    notebook's JSON) becomes "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


def printable_data(value):
    """A copy of JSON-like data (dicts, lists, strings) with every string printable(), keys included."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(k) if isinstance(k, str) else k: printable_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable_data(v) for v in value]
    return value


def written() -> list[dict]:
    """The written answers, as every report lists them: a TA grades them (nbgrader's manual grading)."""
    return [{"name": a.name, "question": a.question, "max_score": a.points, "graded_by": "TA"} for a in ANSWERS]


def written_line() -> str:
    """One sentence for any channel's total: the points it does not give."""
    return (f"The written answers ({len(ANSWERS)} questions, {written_points()} points) are graded by your TA, "
            f"not here: they are not in this total.")


def write_whole(path, text: str) -> None:
    """Write a result file whole or not at all (through a .partial file renamed into place)."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


@dataclass(frozen=True)
class TestResult:
    name: str
    task: str
    visible: bool
    score: int
    max_score: int
    status: str
    message: str
    parts: tuple = ()   # PartResult.as_dict() of each part

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def as_dict(self) -> dict:
        return {"name": self.name, "task": self.task, "visible": self.visible, "score": self.score,
                "max_score": self.max_score, "status": self.status, "message": self.message,
                "parts": [dict(p) for p in self.parts]}


@dataclass
class Report:
    notebook: str
    checks: str                                   # "all" (grade) or "visible" (check)
    tests: list                                   # TestResult, in the manifest's order
    cells: list = field(default_factory=list)     # {"name", "kind", "status", "message", "skipped"}
    notes: list = field(default_factory=list)
    problem: str | None = None                    # the notebook could not be read: why
    output: str = ""
    output_bytes: int = 0
    timeout: float = 0.0
    memory: int = 0
    sandbox: dict = field(default_factory=dict)   # what confine.py enforced
    grader_failed: bool = False                   # the grader itself failed: this grade is not the student's
    seconds: float = 0.0                          # how long grading took, in the grader's process
    environment: dict = field(default_factory=dict)  # environment.fingerprint(): where the grade came from
    review: list = field(default_factory=list)    # {"cell", "line", "what"}: for the TA to look at (reaching.py)

    @property
    def score(self) -> int:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> int:
        return sum(t.max_score for t in self.tests)

    @property
    def all_passed(self) -> bool:
        """Every check worth points passed (informational 0-point checks don't count)."""
        return all(t.status in ("pass", "skipped") or t.max_score == 0 for t in self.tests)

    @property
    def confined(self) -> bool:
        return bool(self.sandbox.get("confined"))

    def to_dict(self) -> dict:
        return printable_data({
            "schema_version": SCHEMA_VERSION,
            "assignment": ASSIGNMENT,
            "notebook": self.notebook,
            "checks": self.checks,
            "problem": self.problem,
            "score": self.score,
            "max_score": self.max_score,
            "tests": [t.as_dict() for t in self.tests],
            "cells": list(self.cells),
            "notes": list(self.notes),
            "output": {"bytes": self.output_bytes, "kept": self.output},
            "limits": {"timeout_seconds": self.timeout, "memory_bytes": self.memory},
            "sandbox": dict(self.sandbox),
            "grader_failed": self.grader_failed,
            "seconds": round(self.seconds, 3),
            "environment": dict(self.environment),
            "written": written(),
            "review": [dict(item) for item in self.review],
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def table(self, width: int = 100) -> str:
        name_width = max([len("check")] + [len(t.name) for t in self.tests])
        head = f"  {'check':<{name_width}}  {'points':>7}  {'result':<7}  "
        indent = " " * len(head)
        text_width = max(30, width - len(head))
        which = "all checks, hidden ones included" if self.checks == "all" else "the visible checks"
        lines = [f"Lab 2A: {self.notebook} ({which})", ""]
        if self.problem:
            lines += textwrap.wrap(f"Your notebook could not be read: {self.problem}", width) + [""]
        lines += [head + "message", "  " + "-" * (width - 2)]
        for t in self.tests:
            wrapped = textwrap.wrap(t.message, text_width, break_long_words=True, break_on_hyphens=False) or [""]
            lines.append(f"  {t.name:<{name_width}}  {f'{t.score} / {t.max_score}':>7}  {t.status:<7}  {wrapped[0]}")
            lines.extend(indent + line for line in wrapped[1:])
        lines.append("  " + "-" * (width - 2))
        lines.append(f"  {'total':<{name_width}}  {f'{self.score} / {self.max_score}':>7}")
        lines += [""] + textwrap.wrap(written_line(), width)
        for answer in written():
            points = f"– / {answer['max_score']}"
            lines.append(f"  {answer['name']:<{name_width}}  {points:>7}  {'by a TA':<7}  {answer['question']}")
        problems = [c for c in self.cells if c["status"] != "ok"]
        if problems or self.notes:
            lines += ["", "Your cells:"]
            for item in [c["message"] for c in problems] + list(self.notes):
                wrapped = textwrap.wrap(item, width - 4, break_long_words=True, break_on_hyphens=False)
                lines.extend(("  - " if i == 0 else "    ") + line for i, line in enumerate(wrapped))
        if self.review:
            lines += ["", REVIEW_TITLE + ":"]
            for item in review_lines(self.review):
                wrapped = textwrap.wrap(item, width - 4, break_long_words=True, break_on_hyphens=False)
                lines.extend(("  - " if i == 0 else "    ") + line for i, line in enumerate(wrapped))
        if self.output_bytes:
            kept = len(self.output.encode("utf-8", "replace"))
            lines += ["", f"Your code printed {_size(self.output_bytes)} while it was graded"
                          + (f" (the first {_size(kept)} are kept in the JSON report)." if kept < self.output_bytes
                             else " (kept in the JSON report).")]
        return terminal_text("\n".join(lines) + "\n")


REVIEW_TITLE = "For your TA to look at (no points depend on it): code that reaches into the Python interpreter"
MAX_REVIEW = 10  # findings listed in a table or a test cell's output (the JSON report keeps them all)


def review_lines(review: list, limit: int = MAX_REVIEW) -> list[str]:
    """One line per finding: where and what; the rest counted."""
    lines = [f"{item['cell']}, line {item['line']}: {item['what']}" for item in review[:limit]]
    if len(review) > limit:
        lines.append(f"and {len(review) - limit} more (in the JSON report)")
    return [printable(line) for line in lines]


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} bytes"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1e6:.1f} MB"


def check_lines(test: TestResult) -> list[str]:
    """A check's result for a notebook cell: one line when it passed, else a line per part."""
    mark = {"pass": "✓", "skipped": "–"}.get(test.status, "✗")
    if test.status in ("pass", "skipped") or len(test.parts) <= 1:
        return [terminal_text(f"{mark} {test.name} {test.score}/{test.max_score}: {test.message}", keep="")]
    lines = [f"{mark} {test.name} {test.score}/{test.max_score}"]
    for part in test.parts:
        part_mark = {"pass": "✓", "skipped": "–"}.get(part["status"], "✗")
        points = f"{part['score']}/{part['max_score']}"
        lines.append(terminal_text(f"  {part_mark} {part['name']} ({points}): {part['message']}", keep=""))
    return lines
