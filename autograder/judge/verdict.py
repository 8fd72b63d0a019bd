"""What a check concludes, and the two ways a student's code stops a check early.

StudentError: the student's code raised. Unusable: the student's definitions can't be used as the lab
defines them (a name is missing, the signature is wrong, an attribute is missing). Both carry only
strings, so they pickle across the process boundary of an isolated runner.
"""

from dataclasses import dataclass

STATUSES = ("pass", "fail", "skipped")


@dataclass(frozen=True)
class Verdict:
    status: str   # "pass", "fail" or "skipped"
    message: str  # for the student: on a fail, what was expected, what came out, and why

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def passed(message: str) -> Verdict:
    return Verdict("pass", message)


def failed(message: str) -> Verdict:
    return Verdict("fail", message)


def skipped(message: str) -> Verdict:
    return Verdict("skipped", message)


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


class StudentError(Exception):
    """The student's code raised. where: the student's function; detail: how it was called."""

    def __init__(self, where: str, kind: str, text: str, detail: str = ""):
        super().__init__(where, kind, text, detail)
        self.where, self.kind, self.text, self.detail = where, kind, text, detail

    @classmethod
    def wrap(cls, where: str, error: BaseException, detail: str = "") -> "StudentError":
        return cls(where, type(error).__name__, str(error), detail)

    @property
    def message(self) -> str:
        return describe_error(self.where, self.kind, self.text, self.detail)

    def __str__(self) -> str:
        return self.message


class Unusable(Exception):
    """The student's definitions can't be used as the lab defines them; the message says why."""
