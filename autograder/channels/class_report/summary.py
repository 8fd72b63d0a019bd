"""What a class's results say, counted: the score distribution, the mean per task, per check its pass rate and
its most common diagnoses (by cause key, judge/causes.py) with the students who made each, the submissions
that could not be graded, the slowest, and the environments the grades came from."""

import json
from dataclasses import dataclass, field

from lab2a.autograder.channels.class_report.load import Entry
from lab2a.autograder.checks.manifest import CHECKS, TASKS, total_points

SLOWEST = 5


@dataclass
class Diagnosis:
    cause: str                  # the key
    students: list              # who made it, sorted
    parts: list                 # the check's parts it cost points in
    example: str                # one student's message for it (the first student's)


@dataclass
class CheckSummary:
    name: str
    task: str
    visible: bool
    max_score: int
    graded: int                 # students graded from their own code
    passed: int
    mean: float
    diagnoses: list = field(default_factory=list)  # Diagnosis, most common first

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class Summary:
    entries: list
    max_score: float
    task_means: dict            # task -> (mean points, max points), over the students graded
    checks: list                # CheckSummary, in the manifest's order
    ungraded: list              # (student, why)
    slowest: list               # (student, seconds)
    environments: list          # (environment dict, the students graded there), most common first
    review: list = field(default_factory=list)  # (student, {"cell", "line", "what"}): for the TA to look at

    @property
    def scores(self) -> list:
        return [e.score for e in self.entries]


def _tests(entry: Entry) -> dict:
    return {t["name"]: t for t in entry.report["tests"]}


def _check_summary(check, graded: list) -> CheckSummary:
    count, passed, points, made = 0, 0, 0.0, {}
    for entry in graded:
        test = _tests(entry).get(check.name)
        if test is None:
            continue
        count += 1
        passed += test["status"] == "pass"
        points += test["score"]
        for part in test["parts"]:
            if part["status"] in ("fail", "error"):
                cause = part.get("cause") or "other"
                students, parts = made.setdefault(cause, ({}, []))
                students.setdefault(entry.student, part["message"])
                if part["name"] not in parts:
                    parts.append(part["name"])
    diagnoses = [Diagnosis(cause, sorted(students), parts, students[min(students)])
                 for cause, (students, parts) in made.items()]
    diagnoses.sort(key=lambda d: (-len(d.students), d.cause))
    return CheckSummary(check.name, check.task, check.visible, check.points, count, passed,
                        points / count if count else 0.0, diagnoses)


def summarise(entries: list[Entry]) -> Summary:
    graded = [e for e in entries if e.graded]
    task_means = {}
    for task in TASKS:
        totals = [sum(t["score"] for t in e.report["tests"] if t.get("task") == task) for e in graded]
        task_means[task] = (sum(totals) / len(totals) if totals else 0.0, total_points(task))
    checks = [_check_summary(c, graded) for c in CHECKS if c.points > 0]
    ungraded = [(e.student, e.problem) for e in entries if not e.graded]
    timed = [(e.student, float(e.report.get("seconds") or 0.0)) for e in entries if e.report is not None]
    slowest = sorted(timed, key=lambda pair: (-pair[1], pair[0]))[:SLOWEST]
    places = {}
    for e in entries:
        if e.report is not None:
            key = json.dumps(e.report.get("environment") or {}, sort_keys=True)
            places.setdefault(key, []).append(e.student)
    environments = sorted(((json.loads(k), v) for k, v in places.items()), key=lambda pair: -len(pair[1]))
    max_score = max([e.max_score for e in entries if e.max_score] or [total_points()])
    review = [(e.student, item) for e in entries if e.report is not None
              for item in e.report.get("review") or [] if isinstance(item, dict)]
    return Summary(entries, max_score, task_means, checks, ungraded, slowest, environments, review)
