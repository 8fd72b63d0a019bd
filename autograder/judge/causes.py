"""Each diagnosis as a short, stable key: what a part that did not pass shows, for counting mistakes across a
class (`lab2a report`) rather than for the student, who reads the message.

A part's message is written for one student (its numbers, its shapes); its key names the mistake only:
"wrap-around", "correlation", "no-zero-grad", "batches-not-on-device", "raised-RuntimeError". The key is given
where the message is made: `Failed(message, cause=key)`, and a likely cause the judge names (oracle.MISTAKES,
training.LOOP_MISTAKES, training.SUMMARY_MISTAKES, compare.STATE) is a `Cause`, its key beside its text. So a
message can be reworded without changing what the class report counts.

Only two kinds of text are read for a key, because no key comes with them:
- what the student's code raised (`raised`): its type's name, and a NameError's message;
- a problem with the student's definitions, which the sandbox sends as text only (`problem`: student.py's
  `Unusable` messages; each carries its key, and tests/test_checks.py checks the two agree).
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """A likely cause: its key, and its text in the student's words (a message says "Likely cause: <text>")."""
    key: str
    text: str


_UNDEFINED = re.compile(r"name '\w+' is not defined")   # Python's NameError, in the student's code


def raised(kind: str, text: str) -> str:
    """The key of an exception the student's code raised: raised-<its type's name>, or undefined-name for
    a NameError's "name 'x' is not defined" (kind and text come from the student's process)."""
    if _UNDEFINED.search(text):
        return "undefined-name"
    # a name made at run time may be anything, and a hidden check shows only "an exception" (judge/unquoted.py)
    return f"raised-{kind}" if kind.isidentifier() else "raised-unnamed"


def described(kind: str, text: str) -> str:
    """The key of verdict.describe_error's message for an exception: not-implemented for the starter's
    `raise NotImplementedError()`, else as `raised`."""
    return "not-implemented" if kind == "NotImplementedError" else raised(kind, text)


# The sandbox's problems with the student's definitions (student.Unusable), which reach the grader as text.
_PROBLEMS = [(key, re.compile(pattern)) for key, pattern in (
    ("not-defined", r"^\w+ is not defined: run the notebook cell"),
    ("not-a-class", r"^\w+ must be a class"),
    ("not-a-module", r"must inherit from nn\.Module|\) returned a \w+, not an nn\.Module"),
    ("not-a-function", r"^\w+ must be a function"),
    ("wrong-signature", r"must take (one argument|six arguments)"),
    ("no-filter-attribute", r"has no attribute `filter`"),
    ("filter-not-a-tensor", r"^self\.filter is a \w+, not a tensor"),
    ("filter-wrong-shape", r"\.filter has \d+ numbers"),
)]


def problem(text: str) -> str:
    """The key of a problem the sandbox found with the student's definitions (student.Unusable's message)."""
    for key, pattern in _PROBLEMS:
        if pattern.search(text):
            return key
    return "unusable-definitions"   # a hidden check's stand-in for a problem it does not quote
