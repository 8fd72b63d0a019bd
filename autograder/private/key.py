"""The course's grading key: it seeds the inputs of every check when a submission is graded (`lab2a grade`,
nbgrader), so they differ from the public inputs of `lab2a check` that anyone can reproduce, and answers
computed ahead of time for those are worth nothing. Change it each term; never give it to students.
"""

import os

GRADING_KEY = 7_314_652_089


def grading_key() -> int:
    """LAB2A_GRADING_KEY (a positive integer) if set, else GRADING_KEY."""
    value = os.environ.get("LAB2A_GRADING_KEY", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else GRADING_KEY
