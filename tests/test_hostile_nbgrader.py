"""Hostile and damaged submissions through the TA's nbgrader workflow (`lab2a autograde`, then feedback and
export): every one finishes with a grade, gets points only for what works, is told what happened, and
agrees with `lab2a grade` on every check. (More kinds through lab2a grade alone: test_grade.py.)"""

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest

from lab2a.autograder.channels.nbgrader import intake

from lab2a.autograder.channels.nbgrader import course as nbgrader_course
from lab2a.autograder.sandbox.confine import abi_version
from lab2a.autograder.checks.manifest import CHECKS, total_points

from . import submissions as S
from .conftest import ROOT

CORRECT_TRAIN, CORRECT_FILTER = S.TRAIN_ZERO_GRAD_FIRST, S.CORRECT_FILTERS["fft, ones"]
CONFINED = abi_version() >= 6   # without Landlock, the killing submission would end nbgrader itself
ESCAPED = "escaped.txt"         # beside the course: where the writing submission aims


def hostile(root):
    """name -> (train cell, filter cell, expected total or None)"""
    cases = {
        "syntax_error": (S.SYNTAX_ERROR_TRAIN, CORRECT_FILTER, total_points("filter")),
        "sys_exit_in_train": (S.SYS_EXIT_TRAIN, CORRECT_FILTER, total_points("filter")),
        "sys_exit_cell": (CORRECT_TRAIN, S.SYS_EXIT_CELL, total_points("train")),
        "huge_allocation": (CORRECT_TRAIN, S.HUGE_FORWARD, total_points("train")),
        "replaced_comparisons": (CORRECT_TRAIN, S.CHEATING_FILTER, None),
        "megabytes_printed": (S.PRINTING_TRAIN, CORRECT_FILTER, total_points()),
        # forward never returns: each filter check stops it after 20 s (the real limit)
        "endless_loop": (CORRECT_TRAIN, S.INFINITE_FORWARD, total_points("train")),
    }
    if CONFINED:
        cases["writes_outside_kills_grader"] = (S.train_writing_to(root / ESCAPED), S.KILLING_FORWARD,
                                                total_points("train"))
    return cases


def _bytes(text):
    return lambda folder: (folder / "lab2a.ipynb").write_bytes(text)


def _several(folder):
    for name in ("lab2a-draft.ipynb", "lab2a-final.ipynb"):
        S.write(S.notebook(CORRECT_TRAIN, CORRECT_FILTER), folder / name)


RELEASE_TEXT = S.RELEASE.read_text(encoding="utf-8")
# name -> (writes the student's folder, what `lab2a autograde` does, expected total, phrase of the feedback)
DAMAGED = {
    "renamed": (lambda folder: S.write(S.notebook(CORRECT_TRAIN, CORRECT_FILTER), folder / "Lab2A (1).ipynb"),
                "renamed", total_points(), None),
    "deleted_section": (lambda folder: S.write(S.notebook(CORRECT_TRAIN, CORRECT_FILTER, S.then(
        S.delete_cell("train_tests_intro"), S.delete_cell("test_train_trajectory"))), folder / "lab2a.ipynb"),
        "repaired", total_points(), None),
    "invalid_json": (_bytes(RELEASE_TEXT[:5000].encode()), "stand-in", 0, "not valid JSON"),
    "no_cells": (lambda folder: S.write(nbformat.v4.new_notebook(), folder / "lab2a.ipynb"), "stand-in", 0,
                 "has no cells"),
    "non_utf8": (_bytes(RELEASE_TEXT.replace("Lab 2A", "Lab 2A \xe9").encode("latin-1", "replace")), "stand-in", 0,
                 "not UTF-8 text"),
    "several_notebooks": (_several, "stand-in", 0, "several notebooks"),
    "nothing": (lambda folder: None, "stand-in", 0, "no notebook was submitted"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, no_data):
    root = tmp_path_factory.mktemp("hostile")
    cases = hostile(root)
    as_submitted = root / "as-submitted"   # a copy lab2a grade reads: autograde repairs submitted/ in place

    isolated_channel = []

    def submit(course):
        for name, (train, filter_cell, _) in cases.items():
            S.write(S.notebook(train, filter_cell), as_submitted / name / "lab2a" / "lab2a.ipynb")
        for name, (write, *_) in DAMAGED.items():
            (as_submitted / name / "lab2a").mkdir(parents=True)
            write(as_submitted / name / "lab2a")
        shutil.copytree(as_submitted, course / "submitted")
        # lab2a grade on the same submissions, while nbgrader grades them (the endless loop costs both minutes)
        isolated_channel.append(subprocess.Popen(
            [sys.executable, "-m", "lab2a.cli", "grade", str(as_submitted), "--csv", str(root / "isolated.csv")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))

    course = root / "course"
    autograde = nbgrader_course.grade_submissions(ROOT, course, submit)   # raises if anyone is left ungraded
    out, err = isolated_channel[0].communicate(timeout=600)
    assert isolated_channel[0].returncode == 0, out + err
    with open(root / "isolated.csv") as f:
        isolated = {row["student"]: row for row in csv.DictReader(f)}
    return root, course, cases, nbgrader_course.cell_scores(course), isolated, autograde


def test_every_submission_gets_the_same_grade_from_both_channels(graded):
    _, _, cases, scores, isolated, _ = graded
    assert set(scores) == set(isolated) == set(cases) | set(DAMAGED)
    for name in scores:
        for check in CHECKS:
            if check.points:
                assert float(isolated[name][check.name]) == scores[name][f"test_{check.name}"], (name, check.name)


def test_hostile_submissions_get_points_for_what_works_only(graded):
    _, _, cases, scores, _, _ = graded
    for name, (_, _, expected) in cases.items():
        if expected is not None:
            assert sum(scores[name].values()) == expected, (name, scores[name])
    for check in ("filter_outputs", "filter_impulse", "filter_gradient", "filter_convergence", "hidden_filter"):
        assert scores["replaced_comparisons"][f"test_{check}"] == 0, check


def _feedback(course, student) -> str:
    return (course / "feedback" / student / "lab2a" / "lab2a.html").read_text(encoding="utf-8")


def test_an_endless_loop_fails_its_checks_with_a_timeout(graded):
    _, course, _, _, _, _ = graded
    page = _feedback(course, "endless_loop")
    for check in CHECKS:
        if check.task == "filter" and check.name != "filter_cuda":
            assert f"{check.name}: timed out after 20 s" in page, check.name


@pytest.mark.skipif(not CONFINED, reason="needs Linux Landlock ABI 6 (kernel 6.12 or newer)")
def test_nothing_is_written_outside_the_submission_and_nbgrader_survives(graded):
    root, course, _, scores, _, _ = graded
    assert not (root / ESCAPED).exists()
    page = _feedback(course, "writes_outside_kills_grader")
    assert "PermissionError" in page and ESCAPED in page
    assert scores["writes_outside_kills_grader"]["test_train_trajectory"] > 0, "train was defined before the write"


@pytest.mark.parametrize("name", DAMAGED)
def test_damaged_submissions_are_graded_and_told_why(graded, name):
    root, course, _, scores, _, autograde = graded
    _, action, expected, phrase = DAMAGED[name]
    assert sum(scores[name].values()) == expected, scores[name]
    folder = course / "submitted" / name / "lab2a"
    original = root / "as-submitted" / name / "lab2a" / "lab2a.ipynb"
    if action == "stand-in":
        assert phrase in " ".join(_feedback(course, name).split()) and "This is not your notebook" in _feedback(course, name)
        if original.exists():  # what the student sent is kept, byte for byte
            assert (folder / ("lab2a.ipynb" + intake.KEPT_SUFFIX)).read_bytes() == original.read_bytes()
    elif action == "repaired":
        assert (folder / ("lab2a.ipynb" + intake.AS_SUBMITTED_SUFFIX)).read_bytes() == original.read_bytes()
    else:
        assert (folder / "Lab2A (1).ipynb").exists()
