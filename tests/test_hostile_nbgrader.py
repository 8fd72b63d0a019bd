"""Hostile submissions through nbgrader autograde: it finishes, grades only what works, and agrees with
lab2a grade on every check. (The same kinds, and more, through lab2a grade alone: test_grade.py.)"""

import csv

import pytest

from lab2a.autograder import nbgrader_course
from lab2a.autograder.manifest import CHECKS, total_points

from . import submissions as S
from .conftest import ROOT, run_lab2a

CORRECT_TRAIN, CORRECT_FILTER = S.TRAIN_ZERO_GRAD_FIRST, S.CORRECT_FILTERS["fft, ones"]
# name -> (train cell, filter cell, expected total)
HOSTILE = {
    "syntax_error": (S.SYNTAX_ERROR_TRAIN, CORRECT_FILTER, total_points("filter")),
    "sys_exit_in_train": (S.SYS_EXIT_TRAIN, CORRECT_FILTER, total_points("filter")),
    "sys_exit_cell": (CORRECT_TRAIN, S.SYS_EXIT_CELL, total_points("train")),
    "huge_allocation": (CORRECT_TRAIN, S.HUGE_FORWARD, total_points("train")),
    "replaced_comparisons": (CORRECT_TRAIN, S.CHEATING_FILTER, None),
    "megabytes_printed": (S.PRINTING_TRAIN, CORRECT_FILTER, total_points()),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_data):
    root = tmp_path_factory.mktemp("hostile")

    def submit(course):
        for name, (train, filter_cell, _) in HOSTILE.items():
            S.write(S.notebook(train, filter_cell), course / "submitted" / name / "lab2a" / "lab2a.ipynb")

    course = root / "course"
    nbgrader_course.grade_submissions(ROOT, course, submit)   # raises if nbgrader gives up on anyone
    run_lab2a("grade", course / "submitted", "--csv", root / "isolated.csv")
    with open(root / "isolated.csv") as f:
        isolated = {row["student"]: row for row in csv.DictReader(f)}
    return nbgrader_course.cell_scores(course), isolated


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_submission_is_graded_for_what_works(graded, name):
    scores, isolated = graded
    cells = scores[name]
    expected = HOSTILE[name][2]
    if expected is not None:
        assert sum(cells.values()) == expected, cells
    for check in CHECKS:
        if check.points:
            assert float(isolated[name][check.name]) == cells[f"test_{check.name}"], (name, check.name)


def test_replaced_comparison_functions_earn_nothing(graded):
    scores, _ = graded
    cells = scores["replaced_comparisons"]
    for check in ("filter_outputs", "filter_impulse", "filter_gradient", "filter_convergence", "hidden_filter"):
        assert cells[f"test_{check}"] == 0, check
