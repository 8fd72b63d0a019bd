"""The TA's workflow with real nbgrader: generate, autograde sample submissions, feedback, export."""

import csv

import nbformat
import pytest

from lab2a.autograder.channels.nbgrader import course as nbgrader_course

from lab2a.autograder.channels import samples
from lab2a.autograder.checks.manifest import CHECKS, total_points

from .conftest import ROOT, run_lab2a

GRADED = {f"test_{c.name}": c for c in CHECKS if c.points > 0}
FILTER_CELLS = {cell for cell, c in GRADED.items() if c.task == "filter"}
TRAIN_CELLS = {cell for cell, c in GRADED.items() if c.task == "train"}


@pytest.fixture(scope="module")
def course(tmp_path_factory, no_data):
    """A course graded end to end: what a TA's commands leave behind."""
    course = tmp_path_factory.mktemp("course") / "course"
    autograde = nbgrader_course.grade_submissions(ROOT, course, lambda course: samples.write(
        course / "release" / "lab2a" / "lab2a.ipynb", course / "source" / "lab2a" / "lab2a.ipynb", course / "submitted"))
    return course, autograde


def total(scores):
    return sum(scores.values())


def test_scores_follow_the_mistakes(course):
    course, _ = course
    scores = nbgrader_course.cell_scores(course)
    assert set(scores) == set(samples.SAMPLES)
    for student, cells in scores.items():
        assert set(cells) == set(GRADED), student
    full = total_points()
    assert total(scores["perfect"]) == full
    assert total(scores["blank"]) == 0
    # each mistake loses exactly its task's failing checks, nothing else
    assert all(scores["wraps_around"][c] == GRADED[c].points for c in TRAIN_CELLS)
    assert 0 < total(scores["wraps_around"]) < full and scores["wraps_around"]["test_filter_outputs"] == 0
    assert all(scores["no_zero_grad"][c] == GRADED[c].points for c in FILTER_CELLS)
    assert scores["no_zero_grad"]["test_train_trajectory"] == 0 and 0 < total(scores["no_zero_grad"]) < full
    assert total(scores["filter_only"]) == total_points("filter")
    # os._exit in forward: the kernel survives (the notebook refuses it while grading), the loop still counts
    assert total(scores["exits"]) == total_points("train")


def test_tampered_and_deleted_test_cells_are_restored(course):
    course, autograde = course
    scores = nbgrader_course.cell_scores(course)
    assert scores["tampered_test"] == scores["wraps_around"], "the `pass` that replaced a test earns nothing"
    assert scores["deleted_test"] == scores["perfect"], "a deleted test cell is put back and graded"
    assert "test_filter_outputs has changed" in autograde.stderr


def test_a_warning_on_stderr_costs_nothing(course):
    course, _ = course
    assert nbgrader_course.cell_scores(course)["warns"] == nbgrader_course.cell_scores(course)["perfect"]


def test_feedback_hides_the_hidden_tests(course):
    course, _ = course
    for sample in samples.SAMPLES:
        html = (course / "feedback" / sample / "lab2a" / "lab2a.html").read_text()
        assert nbgrader_course.hidden_test_leaks(html) == [], sample
        assert "test_hidden_filter" in html   # the cell and its score are shown, not its code
    # the autograded notebooks (TA only) still hold them: that is where they run
    autograded = (course / "autograded" / "perfect" / "lab2a" / "lab2a.ipynb").read_text()
    assert nbgrader_course.hidden_test_leaks(autograded)


def test_export_lists_every_student(course):
    course, _ = course
    with open(course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(samples.SAMPLES)
    assert float(rows["perfect"]["score"]) == float(rows["perfect"]["max_score"]) == total_points()
    assert float(rows["blank"]["score"]) == 0


def test_nbgrader_and_lab2a_grade_agree_on_every_check(course, tmp_path):
    """The same submissions through both channels: lab2a grade FOLDER (isolated, in parallel) and nbgrader."""
    course, _ = course
    result = run_lab2a("grade", course / "submitted", "--csv", tmp_path / "grades.csv")
    assert f"{len(samples.SAMPLES)} notebooks graded" in result.stdout
    with open(tmp_path / "grades.csv") as f:
        isolated = {row["student"]: row for row in csv.DictReader(f)}
    nbgrader_scores = nbgrader_course.cell_scores(course)
    for student, cells in nbgrader_scores.items():
        for cell, check in GRADED.items():
            assert float(isolated[student][check.name]) == cells[cell], (student, check.name)
        assert float(isolated[student]["score"]) == total(cells)


def test_lab2a_autograde_grades_renamed_and_unreadable_submissions(tmp_path, no_data):
    """The TA's command: `lab2a autograde` in the course folder, on a renamed notebook and a broken file."""
    course = nbgrader_course.new_course(ROOT, tmp_path / "course")
    nbgrader_course.nbgrader(course, "generate_assignment", "lab2a")
    perfect = samples.build(course / "release/lab2a/lab2a.ipynb", course / "source/lab2a/lab2a.ipynb", "perfect")
    renamed = course / "submitted" / "renamed" / "lab2a" / "Lab 2A (final).ipynb"
    renamed.parent.mkdir(parents=True)
    nbformat.write(perfect, renamed)
    broken = course / "submitted" / "broken" / "lab2a" / "lab2a.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [')

    result = run_lab2a("autograde", cwd=course)
    assert "2 submissions, 2 needed care" in result.stdout
    assert "renamed: renamed notebook taken" in result.stdout
    assert "broken: graded 0, with the reason in its feedback: the file is not valid JSON" in " ".join(result.stdout.split())
    scores = nbgrader_course.cell_scores(course)
    assert total(scores["renamed"]) == total_points() and total(scores["broken"]) == 0
    assert (broken.parent / "lab2a.ipynb.unreadable").read_text() == '{"cells": ['

    again = run_lab2a("autograde", cwd=course)  # nothing is graded twice; the stand-in is still named
    assert "broken: graded 0" in again.stdout and "renamed" not in again.stdout
    elsewhere = run_lab2a("autograde", cwd=tmp_path, check=False)
    assert elsewhere.returncode == 2 and "course folder" in elsewhere.stderr


def test_only_the_graded_code_runs_while_grading(course):
    """nbgrader runs the solution cells and the test cells (and the GPU check); the lab's own cells stay
    unexecuted, with their source, so the feedback still shows the whole notebook."""
    course, _ = course
    source = {samples.grade_id(c): c.source for c in nbformat.read(ROOT / "source/lab2a/lab2a.ipynb", as_version=4).cells}
    notebook = nbformat.read(course / "autograded" / "perfect" / "lab2a" / "lab2a.ipynb", as_version=4)
    ran = {samples.grade_id(c): c.execution_count is not None for c in notebook.cells if c.cell_type == "code"}
    graded = {gid for gid, c in ((samples.grade_id(c), c) for c in notebook.cells)
              if c.metadata["nbgrader"].get("solution") or c.metadata["nbgrader"].get("grade")}
    assert {gid for gid, did in ran.items() if did} == graded | {"gpu_check"}
    assert {"setup", "load_data", "train_filter", "spectra"} <= set(ran) - graded
    for cell in notebook.cells:
        if samples.grade_id(cell) == "train_filter":
            assert cell.source == source["train_filter"] and cell.outputs == []


def test_the_rule_for_cells_the_student_added():
    from lab2a.autograder.channels.nbgrader.autograde_cells import runs_while_grading

    def added(source):
        return runs_while_grading(nbformat.v4.new_code_cell(source))

    assert added("import math\nTAPS = 81\n\ndef helper(x):\n    return x\n")
    assert added("%matplotlib inline\ndef plot():\n    pass")
    assert not added("model = ConvolutionalFilter(81)\ntrain(model, loader, opt, loss, 50, 'cpu')")
    assert not added("print('hi')")
    # a solution cell whose nbgrader metadata was stripped runs whole, top-level code included
    assert added("def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):\n    return []\nprint(1)")
