"""The checks that grade ConvolutionalFilter and train, shared by every grading channel.

Each check has two halves: run_probe(name, namespace) -> dict runs the student's code in the student's
process and returns plain data; run_judge(name, data) -> Verdict compares that data with a float64
oracle in the grader's process. run_in_process does both; check_in_notebook is the nbgrader test
cell's call. The manifest (CHECKS) defines every check's task, points and visibility.
"""

from lab2a.autograder.checks.manifest import CHECKS, Check, check, total_points
from lab2a.autograder.checks.registry import available, run_judge, run_probe
from lab2a.autograder.grading.run import check_in_notebook, run_in_process, verdict_for_error
from lab2a.autograder.judge.verdict import StudentError, Verdict

__all__ = [
    "CHECKS", "Check", "check", "total_points", "available",
    "run_probe", "run_judge", "run_in_process", "check_in_notebook", "verdict_for_error",
    "StudentError", "Verdict",
]
