"""The TA's workflow with real nbgrader: generate, autograde sample submissions, feedback, export."""

import csv
import re

import nbformat
import pytest

from lab2a import samples
from lab2a.autograder.channels.class_report.load import load
from lab2a.autograder.channels.nbgrader import course as nbgrader_course
from lab2a.autograder.checks.manifest import ANSWERS, CHECKS, total_points, written_points
from lab2a.autograder.grading.layout import grade_id

from . import course_grades
from .conftest import ROOT, run_lab2a

pytestmark = pytest.mark.slow   # end to end: not in the inner loop, `pytest -m "not slow"` (docs/testing.md)

GRADED = {f"test_{c.name}": c for c in CHECKS if c.points > 0}
FILTER_CELLS = {cell for cell, c in GRADED.items() if c.task == "filter"}
TRAIN_CELLS = {cell for cell, c in GRADED.items() if c.task == "train"}


@pytest.fixture(scope="module")
def course(tmp_path_factory, no_data):
    """A course graded end to end: what a TA's commands leave behind."""
    course = tmp_path_factory.mktemp("course") / "course"
    autograde = nbgrader_course.run_ta_workflow(ROOT, course, lambda course: samples.write(
        course / "release" / "lab2a" / "lab2a.ipynb", course / "source" / "lab2a" / "lab2a.ipynb",
        course / "submitted"))
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
    # each mistake loses its task's failing parts, nothing else
    assert all(scores["wraps_around"][c] == GRADED[c].points for c in TRAIN_CELLS)
    assert scores["wraps_around"]["test_filter_outputs"] == 0 and scores["wraps_around"]["test_filter_impulse"] == 1
    assert all(scores["no_zero_grad"][c] == GRADED[c].points for c in FILTER_CELLS)
    assert scores["no_zero_grad"]["test_train_trajectory"] == 0 and 0 < total(scores["no_zero_grad"]) < full
    assert total(scores["filter_only"]) == total_points("filter")
    # os._exit in forward ends the sandbox's worker: each check calling forward is lost, the rest is graded
    assert total(scores["exits"]) == total_points("train") + 1


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
        assert course_grades.hidden_test_leaks(html) == [], sample
        assert "test_hidden_filter" in html   # the cell and its score are shown, not its code
    # the autograded notebooks (TA only) still hold them: that is where they run
    autograded = (course / "autograded" / "perfect" / "lab2a" / "lab2a.ipynb").read_text()
    assert course_grades.hidden_test_leaks(autograded)


def test_feedback_shows_the_formulas_offline(course):
    """The feedback page's formulas are drawn into it (MathJax comes from a CDN): each of the lab's formulas is
    an image whose alt text is its LaTeX, none is left as raw LaTeX, and a browser that can reach nothing
    else draws every one."""
    from lab2a.autograder.channels.nbgrader.feedback import FORMULA

    from .browser import opened

    course, _ = course
    page = course / "feedback" / "perfect" / "lab2a" / "lab2a.html"
    html = page.read_text()
    release = nbformat.read(course / "release" / "lab2a" / "lab2a.ipynb", as_version=4)
    formulas = [m.group("display") or m.group("inline") for c in release.cells if c.cell_type == "markdown"
                for m in FORMULA.finditer(c.source)]
    assert len(formulas) >= 20 and "\\hat y[n]" in formulas
    images = re.findall(r'<img alt="([^"]*)" class="lab2a-formula" src="data:image/svg\+xml;base64,', html)
    assert sorted(images) == sorted(formula.strip().replace("&", "&amp;").replace("<", "&lt;") for formula in formulas)
    text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", html, flags=re.S)
    assert not FORMULA.search(text)
    with opened(page) as (browser, _):
        drawn = browser.evaluate("Array.from(document.querySelectorAll('img.lab2a-formula'))"
                                 ".map(image => image.complete && image.naturalWidth > 0)")
    assert drawn == [True] * len(formulas)


def test_export_lists_every_student(course):
    course, _ = course
    with open(course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(samples.SAMPLES)
    # the written answers count in nbgrader's maximum; the samples leave them as handed out, which nbgrader
    # itself scores 0 without asking a TA
    assert float(rows["perfect"]["score"]) == total_points()
    assert float(rows["perfect"]["max_score"]) == total_points() + written_points()
    assert float(rows["blank"]["score"]) == 0
    written = course_grades.written_scores(course)
    assert all(written[student] == {a.name: (0, False) for a in ANSWERS} for student in samples.SAMPLES)


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
    said = " ".join(result.stdout.split())
    assert "broken: graded 0, with the reason in its feedback: the file is not valid JSON" in said
    scores = nbgrader_course.cell_scores(course)
    assert total(scores["renamed"]) == total_points() and total(scores["broken"]) == 0
    assert (broken.parent / "lab2a.ipynb.unreadable").read_text() == '{"cells": ['

    again = run_lab2a("autograde", cwd=course)  # nothing is graded twice; the stand-in is still named
    assert "broken: graded 0" in again.stdout and "renamed" not in again.stdout
    elsewhere = run_lab2a("autograde", cwd=tmp_path, check=False)
    assert elsewhere.returncode == 2 and "course folder" in elsewhere.stderr


def test_no_kernel_runs_the_notebook_the_test_cells_hold_the_graders_verdicts(course):
    """nbgrader's Execute is replaced: only the test cells (and the GPU check) have outputs, written from the
    sandboxed grader's results; every other cell, the lab's and the student's, is left as submitted."""
    course, _ = course
    notebook = nbformat.read(course / "autograded" / "wraps_around" / "lab2a" / "lab2a.ipynb", as_version=4)
    with_outputs = {grade_id(c) for c in notebook.cells if c.cell_type == "code" and c.outputs}
    assert with_outputs == set(GRADED) | {"gpu_check"}
    impulse = next(c for c in notebook.cells if grade_id(c) == "test_filter_impulse")
    assert impulse.outputs[0]["text"].startswith("✗ filter_impulse 1/2\n")
    assert impulse.outputs[1]["data"]["text/plain"] == "1"   # nbgrader's partial credit
    summary = notebook.metadata["lab2a"]
    assert summary["score"] == total(nbgrader_course.cell_scores(course)["wraps_around"])
    assert summary["sandbox"]["confined"] is True or not summary["sandbox"]["files"].startswith("reads")


def test_plain_nbgrader_autograde_grades_the_same(course):
    """The configuration alone makes `nbgrader autograde lab2a` use the sandboxed grader."""
    course, _ = course
    before = nbgrader_course.cell_scores(course)["wraps_around"]
    nbgrader_course.nbgrader(course, "autograde", "lab2a", "--student=wraps_around", "--force")
    assert nbgrader_course.cell_scores(course)["wraps_around"] == before


def test_lab2a_autograde_finds_a_grade_given_without_confinement(tmp_path):
    """Where the sandbox could not confine (macOS, an old kernel), the autograded notebook says so, and
    `lab2a autograde` reads it back to warn the TA (test_grade.py checks the warning's words)."""
    graded = tmp_path / "autograded" / "alice" / "lab2a" / "lab2a.ipynb"
    graded.parent.mkdir(parents=True)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["lab2a"] = {"sandbox": {"files": "not confined: Darwin is not Linux", "confined": False}}
    nbformat.write(notebook, graded)
    assert nbgrader_course.unconfined(tmp_path)["files"] == "not confined: Darwin is not Linux"
    notebook.metadata["lab2a"]["sandbox"]["confined"] = True
    nbformat.write(notebook, graded)
    assert nbgrader_course.unconfined(tmp_path) is None


def test_parallel_autograde_leaves_what_a_serial_run_leaves(course, tmp_path):
    """`lab2a autograde --jobs 2` on the samples the serial run graded, plus a submission nbgrader fails on
    (its timestamp.txt is not a time): the same gradebook rows, autograded notebooks and feedback as the
    serial run, the failing student named and nobody else's grade lost; then again with --force."""
    serial, _ = course
    parallel = nbgrader_course.new_course(ROOT, tmp_path / "course")
    nbgrader_course.nbgrader(parallel, "generate_assignment", "lab2a")
    samples.write(parallel / "release" / "lab2a" / "lab2a.ipynb", parallel / "source" / "lab2a" / "lab2a.ipynb",
                  parallel / "submitted")
    bad_time = parallel / "submitted" / "bad_timestamp" / "lab2a"
    bad_time.mkdir(parents=True)
    nbformat.write(samples.build(parallel / "release/lab2a/lab2a.ipynb", parallel / "source/lab2a/lab2a.ipynb",
                                 "perfect"), bad_time / "lab2a.ipynb")
    (bad_time / "timestamp.txt").write_text("the night before the deadline")

    result = run_lab2a("autograde", "--jobs", "2", cwd=parallel, check=False)
    assert result.returncode == 1
    assert "bad_timestamp: nbgrader left no graded notebook" in result.stderr
    assert "[1/2]" in result.stderr and "[2/2]" in result.stderr   # each process's log, named, where nbgrader's goes
    assert "[1/2]" not in result.stdout

    def export(folder):
        nbgrader_course.nbgrader(folder, "export")
        rows = (folder / "grades.csv").read_text().splitlines()
        return [row for row in rows if ",bad_timestamp," not in row]

    assert export(parallel) == export(serial)
    scores = nbgrader_course.cell_scores(parallel)
    assert {student: scores[student] for student in samples.SAMPLES} == nbgrader_course.cell_scores(serial)
    def untimed(path):  # the report kept in the notebook says how long grading took: that alone may differ
        return re.sub(r'"seconds": [0-9.e+-]+', '"seconds": 0', path.read_text())

    for graded in sorted((serial / "autograded").glob("*/lab2a/lab2a.ipynb")):
        twin = parallel / graded.relative_to(serial)
        assert untimed(twin) == untimed(graded), graded.parent.parent.name
    nbgrader_course.nbgrader(parallel, "generate_feedback", "lab2a")
    for page in sorted((serial / "feedback").glob("*/lab2a/lab2a.html")):
        assert (parallel / page.relative_to(serial)).read_text() == page.read_text(), page.parent.parent.name

    (bad_time / "timestamp.txt").unlink()
    again = run_lab2a("autograde", "--jobs", "2", "--force", cwd=parallel)
    assert "left no graded notebook" not in again.stderr
    regraded = export(parallel)
    assert regraded == export(serial) and len(regraded) == len(samples.SAMPLES) + 1   # a header, no row twice
    assert sum(nbgrader_course.cell_scores(parallel)["bad_timestamp"].values()) == total_points()


def test_a_ta_grades_the_written_answers_and_the_export_adds_them(tmp_path, no_data):
    """The TA's part, through nbgrader's own API as formgrader does it: autograde leaves each answer cell a
    student wrote in "needs manual grading"; a manual score set on it is in the export's total and the feedback, and a
    regrade (--force, in parallel) keeps it, as nbgrader does."""
    from nbgrader.api import Gradebook

    course = nbgrader_course.new_course(ROOT, tmp_path / "course")
    nbgrader_course.nbgrader(course, "generate_assignment", "lab2a")
    release, source = course / "release/lab2a/lab2a.ipynb", course / "source/lab2a/lab2a.ipynb"
    for student, sample in (("ada", "perfect"), ("bob", "blank")):
        notebook = samples.build(release, source, sample)
        for cell in notebook.cells:
            if grade_id(cell) == "answer_fcnn":
                cell.source = "It hisses: 6.4 million weights, 1,400 clips, nothing shared across time."
        (course / "submitted" / student / "lab2a").mkdir(parents=True)
        nbformat.write(notebook, course / "submitted" / student / "lab2a" / "lab2a.ipynb")
    run_lab2a("autograde", "--jobs", "2", cwd=course)
    # the answer written waits for a TA; the one left as handed out is 0 (nbgrader's rule)
    assert course_grades.written_scores(course)["ada"] == {"answer_fcnn": (0, True), "answer_filter": (0, False)}

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("answer_fcnn", "lab2a", "lab2a", "ada")
        assert grade.needs_manual_grade and grade.max_score == 2
        grade.manual_score = 1.5
        grade.needs_manual_grade = False
        gradebook.db.commit()

    def exported():
        nbgrader_course.nbgrader(course, "export")
        with open(course / "grades.csv") as f:
            return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}

    assert exported() == {"ada": total_points() + 1.5, "bob": 0}
    nbgrader_course.nbgrader(course, "generate_feedback", "lab2a")
    page = (course / "feedback" / "ada" / "lab2a" / "lab2a.html").read_text()
    assert f"Score: {total_points() + 1.5}" in page and "6.4 million weights" in page
    assert "*Rubric.*" not in page and "Model answer" not in page   # the TA's text never reaches students

    run_lab2a("autograde", "--jobs", "2", "--force", cwd=course)
    # kept, and flagged for the TA to look at again (nbgrader's rule on a regrade: the answer may have changed)
    assert course_grades.written_scores(course)["ada"]["answer_fcnn"] == (1.5, True)
    assert exported() == {"ada": total_points() + 1.5, "bob": 0}


def test_processes_take_students_from_one_queue_each_once(tmp_path):
    """Each student goes to the first process free, once, whatever the IDs hold (a comma, a glob's brackets);
    and without a gradebook that knows the assignment, one nbgrader process runs (and says what is wrong, as
    nbgrader does); looking creates no gradebook."""
    import json
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    from lab2a.autograder.channels.nbgrader import parallel, pool_process

    assert not parallel.ready(tmp_path, "lab2a") and not (tmp_path / "gradebook.db").exists()
    with sqlite3.connect(tmp_path / "gradebook.db") as connection:
        connection.execute("CREATE TABLE assignment (id TEXT, name TEXT)")
        connection.execute("INSERT INTO assignment VALUES ('x', 'lab1')")
    connection.close()
    assert not parallel.ready(tmp_path, "lab2a") and parallel.ready(tmp_path, "lab1")


    students = [f"s{i}" for i in range(200)] + ["lovelace,ada", "a[1]*"]
    queue = tmp_path / "queue.json"
    queue.write_text(json.dumps(students))

    def drain(_):
        taken = []
        while (student := pool_process.take(queue)) is not None:
            taken.append(student)
        return taken
    with ThreadPoolExecutor(4) as pool:
        shares = list(pool.map(drain, range(4)))
    assert sorted(s for share in shares for s in share) == sorted(students)   # each once, none lost
    assert all(share == sorted(share, key=students.index) for share in shares)   # in the queue's order


def test_the_class_report_reads_each_students_full_report(course, tmp_path):
    """The grader keeps each student's full report in the autograded notebook (metadata "lab2a"): `lab2a
    report` on the course finds every sample's, with the gradebook's score and the diagnoses it shows."""
    course, _ = course
    entries = {e.student: e for e in load(course)}
    assert set(entries) == set(samples.SAMPLES) and all(e.graded for e in entries.values())
    assert all(e.score == e.report["score"] for e in entries.values())
    causes = {p["cause"] for t in entries["wraps_around"].report["tests"] for p in t["parts"] if p["status"] == "fail"}
    assert "wrap-around" in causes
    assert "wrote" in run_lab2a("report", course, tmp_path / "report.html").stdout


def test_grades_that_cannot_be_merged_are_kept_and_named(tmp_path, no_data, monkeypatch):
    """If the course's gradebook can't take the graded copies (formgrader holding it locked for a minute),
    nothing graded is lost: the copies are kept beside it, and the error says where and what to do."""
    import sqlite3

    from lab2a.autograder.channels.nbgrader import parallel

    course = nbgrader_course.new_course(ROOT, tmp_path / "course")
    nbgrader_course.nbgrader(course, "generate_assignment", "lab2a")
    release, source = course / "release/lab2a/lab2a.ipynb", course / "source/lab2a/lab2a.ipynb"
    for student in ("ada", "bob"):
        folder = course / "submitted" / student / "lab2a"
        folder.mkdir(parents=True)
        nbformat.write(samples.build(release, source, "perfect"), folder / "lab2a.ipynb")

    def locked(gradebook, copy, assignment, students):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(parallel, "merge", locked)
    with pytest.raises(parallel.MergeFailed, match=r"grades of 2 students could not be written .* close formgrader"):
        nbgrader_course.autograde(course, jobs=2)
    kept = sorted(p.name for p in course.glob("gradebook.unmerged-*.db"))
    assert kept == ["gradebook.unmerged-1.db", "gradebook.unmerged-2.db"]
    graded = set()
    for name in kept:
        with sqlite3.connect(course / name) as connection:
            graded |= {row[0] for row in connection.execute("SELECT student_id FROM submitted_assignment")}
        connection.close()
    assert graded == {"ada", "bob"}


def test_feedback_messages_wrap_within_their_blocks(course):
    """At 1280 px wide, no line of a check's message runs past the right edge of its output block (the end of
    a message says what went wrong); without the feedback's wrapping style some would."""
    from .browser import opened

    course, _ = course
    with opened(course / "feedback" / "wraps_around" / "lab2a" / "lab2a.html", width=1280) as (page, _):
        blocks = "div.output_area pre"
        widths = page.eval_on_selector_all(blocks, "all => all.map(e => [e.scrollWidth, e.clientWidth])")
        assert widths and all(scroll <= client for scroll, client in widths), widths
        page.add_style_tag(content=f"{blocks} {{ white-space: pre !important; }}")
        unwrapped = page.eval_on_selector_all(blocks, "all => all.map(e => [e.scrollWidth, e.clientWidth])")
        assert any(scroll > client for scroll, client in unwrapped), "no message long enough to test the wrapping"
