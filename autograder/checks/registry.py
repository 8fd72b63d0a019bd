"""Every check's parts by name, and running a check: each part in turn, its points from the manifest.

A part is a function (ask, key, memo) that raises Failed when the student's code is wrong, and may return
the text of its pass (else the manifest's);
ask(operation, **args) runs one operation of sandbox/ops.py on the student's code (in the sandbox, or
in the student's own kernel for check_in_notebook) and returns its answer. A part that can't finish
(the sandbox timed out, its process ended) is an error worth 0; after a timeout the check's remaining
parts are not run, so one endless loop costs one check's time limit.
"""

from lab2a.autograder.checks import convergence, outputs, properties, train
from lab2a.autograder.checks.manifest import CHECKS as MANIFEST
from lab2a.autograder.checks.manifest import check
from lab2a.autograder.grading.errors import GraderError, StepFailed
from lab2a.autograder.judge import unquoted
from lab2a.autograder.judge.verdict import Failed, PartResult, Verdict

try:
    from lab2a.autograder.private import hidden
except ImportError:  # a student's kit, without the hidden checks
    hidden = None

# every module of checks: a new one is added here; its PARTS map each check to its parts by name
MODULES = (properties, outputs, train, convergence, *((hidden,) if hidden else ()))
IMPLEMENTATIONS = {name: parts for module in MODULES for name, parts in module.PARTS.items()}
assert len(IMPLEMENTATIONS) == sum(len(module.PARTS) for module in MODULES), "a check is in two modules"
for _name, _parts in IMPLEMENTATIONS.items():
    assert list(_parts) == [p.name for p in check(_name).parts], f"{_name}: its parts differ from the manifest's"


STEP_CAUSES = {"timeout": "timeout", "ended": "process-ended", "budget": "budget-used-up"}  # StepFailed.kind -> cause


def available() -> list[str]:
    """The manifest's checks whose code is present, in the manifest's order."""
    return [c.name for c in MANIFEST if c.name in IMPLEMENTATIONS]


def implementation(name: str) -> dict:
    check(name)  # an unknown name: KeyError listing the checks
    if name not in IMPLEMENTATIONS:
        raise KeyError(f"the check {name!r} is hidden: its code is not part of this copy of the autograder")
    return IMPLEMENTATIONS[name]


def run_check(name: str, ask, key: int) -> Verdict:
    """Every part of the check, in the manifest's order; never raises for the student's sake."""
    parts, memo, stopped = [], {}, None
    functions = implementation(name)
    hidden = not check(name).visible
    if hidden:  # what the student's code sends is quoted only in words of fixed lists (judge/unquoted.py)
        plain = ask

        def ask(operation, **args):
            return unquoted.vetted(plain(operation, **args))
    for part in check(name).parts:
        if stopped:
            parts.append(PartResult(part.name, 0, part.points, "error", stopped, "not-run-after-timeout"))
            continue
        try:
            said = functions[part.name](ask, key, memo)  # a part may say how it passed (a GPU, or none)
            parts.append(PartResult(part.name, part.points, part.points, "pass",
                                    said if isinstance(said, str) else part.what))
        except Failed as failure:
            parts.append(PartResult(part.name, 0, part.points, failure.status, failure.message, failure.cause))
        except StepFailed as failure:
            said = unquoted.STEPS.get(failure.kind, failure.message) if hidden else failure.message
            parts.append(PartResult(part.name, 0, part.points, "error", said,
                                    STEP_CAUSES.get(failure.kind, f"sandbox-{failure.kind}")))
            if failure.kind == "timeout":
                stopped = "not run: an earlier part of this check used up its time"
        except GraderError:
            raise  # not the student's: the grade can't be given
        except Exception as error:  # noqa: BLE001 (a judge on malformed data must not crash the grade)
            said = "" if hidden else f" ({type(error).__name__}: {str(error)[:200]})"  # (a forged key, say)
            parts.append(PartResult(part.name, 0, part.points, "error",
                                    f"the grader could not use what your notebook's code sent back{said}.",
                                    "unusable-answer"))
    return Verdict(name, tuple(parts))
