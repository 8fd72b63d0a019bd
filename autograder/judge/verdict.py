"""What a check concludes: a result per part (integer points, a status, a message), and the ways a part
ends early.

A part passes (all its points), fails (none: the answer is wrong, or the student's code raised) or is
an error (none: it could not finish, e.g. a timeout). A check's status follows from its parts: pass,
partial (some points), fail, error (no points, something could not finish) or skipped (a 0-point
check that could not run here, e.g. no GPU).
"""

from dataclasses import dataclass

from lab2a.autograder.judge import causes
from lab2a.autograder.sandbox.student import UNUSABLE_CAUSES

PART_STATUSES = ("pass", "fail", "error", "skipped")


class Failed(Exception):
    """Ends a part: it scores 0 with this message. status "error": it could not finish (not wrong).
    cause: the diagnosis as a short key (judge/causes.py), given with the message it names."""

    def __init__(self, message: str, status: str = "fail", *, cause: str):
        super().__init__(message)
        self.message, self.status, self.cause = message, status, cause


@dataclass(frozen=True)
class PartResult:
    name: str
    score: int
    max_score: int
    status: str      # pass, fail, error or skipped
    message: str     # for the student: on a fail, what was expected, what came out, and why
    cause: str | None = None  # a part that did not pass: its diagnosis as a short key (judge/causes.py)

    def __post_init__(self):
        if self.status not in PART_STATUSES:
            raise ValueError(f"status must be one of {PART_STATUSES}, got {self.status!r}")

    def as_dict(self) -> dict:
        return {"name": self.name, "score": self.score, "max_score": self.max_score, "status": self.status,
                "message": self.message, "cause": self.cause}


@dataclass(frozen=True)
class Verdict:
    check: str
    parts: tuple    # PartResult, in the manifest's order

    @property
    def score(self) -> int:
        return sum(p.score for p in self.parts)

    @property
    def max_score(self) -> int:
        return sum(p.max_score for p in self.parts)

    @property
    def status(self) -> str:
        statuses = {p.status for p in self.parts}
        if statuses <= {"pass"}:
            return "pass"
        if statuses == {"skipped"}:
            return "skipped"
        if self.score > 0:
            return "partial"
        if self.max_score == 0 and "error" not in statuses and "fail" not in statuses:
            return "skipped"
        return "error" if "error" in statuses and "fail" not in statuses else "fail"

    @property
    def message(self) -> str:
        """One paragraph: what passed, or each part that did not and why."""
        if len(self.parts) == 1:
            return self.parts[0].message
        if self.status == "pass":
            return "; ".join(p.message for p in self.parts)
        lost = [p for p in self.parts if p.status != "pass"]
        return " ".join(f"[{p.name}, {p.score}/{p.max_score}] {p.message}" for p in lost)


def first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit] + "..."


def describe_error(where: str, kind: str, text: str, detail: str = "") -> str:
    """'ConvolutionalFilter.forward raised RuntimeError: ...', or 'train is not implemented yet'."""
    if kind == "NotImplementedError":
        return (f"{where} is not implemented yet: it raises NotImplementedError"
                f"{' ' + detail if detail else ''}. Replace the `raise NotImplementedError()` with your code.")
    said = first_line(text)
    return f"{where} raised {kind}{' ' + detail if detail else ''}" + (f": {said}" if said else "")


def _strings(value, keys) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(k), str) for k in keys)


def error_message(error) -> str:
    """The message for an error record {"where", "kind", "text", "detail"} from the sandbox."""
    if not _strings(error, ("where", "kind", "text")):
        raise Failed("the grader could not read what your code raised.", "error", cause="unreadable-answer")
    return describe_error(error["where"], error["kind"], error["text"], str(error.get("detail", "")))


def student_failure(error, before: str = "") -> Failed:
    """The failure for an error record from the sandbox (the student's code raised), its message after `before`."""
    said = error_message(error)
    return Failed(before + said, cause=causes.described(error["kind"], error["text"]))


def data_of(answer) -> dict:
    """The data of a sandbox answer; Failed with the student's message when their code could not
    give it (a missing definition, an exception, sys.exit(), data that can't be sent)."""
    if not isinstance(answer, dict):
        raise Failed("the grader received nothing usable from your notebook's code.", "error",
                     cause="unreadable-answer")
    if isinstance(answer.get("data"), dict):
        return answer["data"]
    if isinstance(answer.get("problem"), str):
        # the key student.py gave, if it is one of its own (the answer comes from the student's process)
        cause = answer.get("cause")
        known = isinstance(cause, str) and cause in UNUSABLE_CAUSES
        raise Failed(answer["problem"], cause=cause if known else "unusable-definitions")
    if "error" in answer:
        raise student_failure(answer["error"])
    if isinstance(answer.get("exit"), str):
        raise Failed(f"your code called {answer['exit']} during this check, so the check could not finish: don't "
                     f"call sys.exit() or exit() in your solution.", "error", cause="exit-called")
    if _strings(answer.get("raised"), ("kind", "text")):
        raised = answer["raised"]
        return_text = f": {first_line(raised['text'])}" if raised["text"].strip() else ""
        raise Failed(f"running your code failed with {raised['kind']}{return_text}",
                     cause=causes.raised(raised["kind"], first_line(raised["text"])))
    if isinstance(answer.get("tampered"), str):
        raise Failed(f"your code changed the grader's sandbox ({answer['tampered']}) while it was graded, so this part "
                     f"can't be judged: leave lab2a's modules alone.", cause="tampered")
    if isinstance(answer.get("unsendable"), str):
        raise Failed(f"what your code returned could not be sent to the grader: {answer['unsendable']}", "error",
                     cause="unsendable")
    raise Failed("the grader could not use what your notebook's code sent back.", "error", cause="unreadable-answer")
