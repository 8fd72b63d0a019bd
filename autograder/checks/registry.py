"""Check names to their probe and judge, and the two halves run by name.

probe(namespace) -> dict runs in the student's process and returns plain data; judge(data) -> Verdict
runs in the grader's process on that data only. An isolated runner calls run_probe in the student's
process and run_judge in its own.
"""

from lab2a.autograder.checks import convergence as convergence_checks
from lab2a.autograder.checks import filter as filter_checks
from lab2a.autograder.checks import filter_device as filter_device_checks
from lab2a.autograder.checks import train as train_checks
from lab2a.autograder.checks import train_device as train_device_checks
from lab2a.autograder.checks.manifest import CHECKS as MANIFEST, check
from lab2a.autograder.sandbox.student import seeded
from lab2a.autograder.judge.verdict import Unusable, Verdict, failed

try:
    from lab2a.autograder.private import hidden
except ImportError:  # a student-facing export, without the hidden checks
    hidden = None

IMPLEMENTATIONS = {
    **filter_checks.CHECKS, **filter_device_checks.CHECKS,
    **train_checks.CHECKS, **train_device_checks.CHECKS, **convergence_checks.CHECKS,
    **(hidden.CHECKS if hidden else {}),
}
_unlisted = set(IMPLEMENTATIONS) - {c.name for c in MANIFEST}
assert not _unlisted, f"checks missing from the manifest: {_unlisted}"


def available() -> list[str]:
    """The manifest's checks whose code is present, in the manifest's order."""
    return [c.name for c in MANIFEST if c.name in IMPLEMENTATIONS]


def implementation(name: str):
    """(probe, judge) of the check; KeyError for an unknown name or a hidden check left out of this copy."""
    check(name)  # an unknown name: KeyError listing the checks
    if name not in IMPLEMENTATIONS:
        raise KeyError(f"the check {name!r} is hidden: its code is not part of this copy of the autograder")
    return IMPLEMENTATIONS[name]


def run_probe(name: str, namespace: dict) -> dict:
    """The student's half. Student exceptions propagate as StudentError; unusable definitions (a missing
    name, a wrong signature) come back as {"problem": message}."""
    probe, _ = implementation(name)
    try:
        with seeded(0):  # the student's random initial taps, the same on every run
            return probe(namespace)
    except Unusable as problem:
        return {"problem": str(problem)}


def run_judge(name: str, data) -> Verdict:
    """The grader's half, on plain data only."""
    _, judge = implementation(name)
    if not isinstance(data, dict):
        return failed(f"{name}: the check received no usable data from your notebook.")
    if "problem" in data:
        return failed(str(data["problem"]))
    return judge(data)
