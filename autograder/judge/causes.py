"""Each diagnosis as a short, stable key: what a part that did not pass shows, for counting mistakes across a
class (`lab2a report`) rather than for the student, who reads the message.

A part's message is written for one student (its numbers, its shapes); its key names the mistake only:
"wrap-around", "correlation", "no-zero-grad", "batches-not-on-device", "raised-RuntimeError". The key is given
where the message is made: `Failed(message, cause=key)`, and a likely cause the judge names (oracle.MISTAKES,
training.LOOP_MISTAKES, training.SUMMARY_MISTAKES, compare.STATE) is a `Cause`, its key beside its text. So a
message can be reworded without changing what the class report counts.

Only what the student's code raised is read for a key (`raised`): its type's name, and a NameError's message.
A problem with the student's definitions (sandbox/student.py's `Unusable`) comes with its key, one of
`student.UNUSABLE_CAUSES`.
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
