"""`lab2a report`: the class report of real `lab2a grade --json` results (three notebooks, one of them hostile,
and one unreadable file: graded once, in seconds), opened in headless Chromium; the course folder it reads
from nbgrader's gradebook; the cause keys; the environment; every bad input as one line and exit 2."""

import json
from collections import defaultdict

import jsonschema
import nbformat
import pytest

from lab2a import cli, samples
from lab2a.autograder.channels.class_report.load import BadInput, load
from lab2a.autograder.channels.nbgrader.autograde import METADATA, fill
from lab2a.autograder.grading.grade import unreadable
from lab2a.autograder.grading.layout import grade_id
from lab2a.autograder.grading.report import SCHEMA_VERSION
from lab2a.autograder.judge.causes import described, raised

from .browser import opened
from .conftest import ROOT, run_lab2a

RELEASE, SOURCE = ROOT / "release" / "lab2a" / "lab2a.ipynb", ROOT / "source" / "lab2a" / "lab2a.ipynb"
HOSTILE = "<img src=x onerror=window.__pwned=1>"   # a student's name (a folder may be called that)
SCRIPT = "<script>window.__pwned = 2</script><b>bold</b>"


def _hostile_notebook():
    """Correct training, a forward that raises with a message that is HTML with a script in it."""
    notebook = samples.build(RELEASE, SOURCE, "perfect")
    for cell in notebook.cells:
        if grade_id(cell) == "convolutional_filter":
            cell.source = samples.replace(cell.source, "        n = x.shape[-1]\n",
                                          f"        raise RuntimeError({SCRIPT!r})\n")
    return notebook


@pytest.fixture(scope="module")
def reports(tmp_path_factory, no_data):
    """`lab2a grade submitted/ --json reports/` on a small class: {student: report}, and the reports folder."""
    root = tmp_path_factory.mktemp("class")
    submitted = root / "submitted"
    samples.write(RELEASE, SOURCE, submitted, names=("wraps_around", "no_zero_grad"))
    (submitted / HOSTILE / "lab2a").mkdir(parents=True)
    nbformat.write(_hostile_notebook(), submitted / HOSTILE / "lab2a" / "lab2a.ipynb")
    (submitted / "garbled" / "lab2a").mkdir(parents=True)
    (submitted / "garbled" / "lab2a" / "lab2a.ipynb").write_text("{not json")
    run_lab2a("grade", submitted, "--json", root / "reports", "--csv", root / "grades.csv", "--jobs", 2)
    found = {p.stem: json.loads(p.read_text()) for p in (root / "reports").glob("*.json")}
    return found, root / "reports"


def _diagnoses(found: dict) -> dict:
    """{(check, cause): students} counted from the reports themselves, independently of summary.py."""
    made = defaultdict(set)
    for student, report in found.items():
        if report["problem"]:
            continue
        for test in report["tests"]:
            for part in test["parts"]:
                if part["status"] in ("fail", "error"):
                    made[test["name"], part["cause"]].add(student)
    return made


@pytest.mark.slow
def test_each_part_that_did_not_pass_names_its_mistake(reports):
    found, _ = reports
    assert {r["schema_version"] for r in found.values()} == {SCHEMA_VERSION}
    schema = json.loads((ROOT / "tests" / "schemas" / f"lab2a-report-v{SCHEMA_VERSION}.schema.json").read_text())
    for report in found.values():
        jsonschema.validate(report, schema)
    causes = {(student, t["name"]): {p["cause"] for p in t["parts"] if p["status"] != "pass"}
              for student, r in found.items() for t in r["tests"]}
    assert "wrap-around" in causes["wraps_around", "filter_outputs"]
    assert causes["no_zero_grad", "train_trajectory"] == {"no-zero-grad"}
    assert causes["no_zero_grad", "filter_outputs"] == set()
    assert causes[HOSTILE, "filter_outputs"] == {"raised-RuntimeError"}
    assert all(p["cause"] is None for r in found.values() for t in r["tests"] for p in t["parts"]
               if p["status"] == "pass")


def test_cause_keys_of_what_the_students_code_raised():
    """The only keys read from text: the student's exception (its type, a NameError's message)."""
    assert described("NotImplementedError", "") == "not-implemented"
    assert raised("NotImplementedError", "") == "raised-NotImplementedError"
    assert described("NameError", "name 'torch' is not defined") == "undefined-name"
    assert described("RuntimeError", "shapes cannot be multiplied") == "raised-RuntimeError"
    assert raised("an exception", "(its message is not shown for a hidden check)") == "raised-unnamed"


@pytest.mark.slow
def test_every_report_says_where_it_was_graded(reports):
    import platform

    import numpy
    import torch

    found, _ = reports
    for report in found.values():
        env = report["environment"]
        assert env["python"] == platform.python_version() and env["torch"] == torch.__version__
        assert env["numpy"] == numpy.__version__
        assert env["device"] == "cpu" or env["device"].startswith("cuda"), env["device"]
        assert set(env) == {"python", "torch", "numpy", "nbgrader", "platform", "cpus", "device", "confinement",
                            "grader"}
        assert report["seconds"] >= 0
    assert found["wraps_around"]["environment"]["confinement"] in ("confined",) or \
        found["wraps_around"]["environment"]["confinement"].startswith("not confined")
    assert found["garbled"]["environment"]["confinement"].startswith("no sandbox")


@pytest.mark.slow
def test_the_page_renders_and_counts_the_diagnoses(reports, tmp_path):
    found, folder = reports
    out = tmp_path / "report.html"
    result = run_lab2a("report", folder, out)
    assert "4 students" in result.stdout
    html = out.read_text()
    assert SCRIPT not in html and HOSTILE not in html, "a student's text went into the page unescaped"
    with opened(out) as (page, requests):
        assert page.evaluate("document.getElementById('histogram').naturalWidth") > 0
        assert page.evaluate("window.__pwned") is None, "a student's message ran as a script"
        assert all(url.startswith(("file:", "data:")) for url in requests), requests
        rows = page.evaluate("""[...document.querySelectorAll('#diagnosis-table tr')].slice(1).map(
            tr => [...tr.children].map(td => td.innerText))""")
        shown = {(check, cause): (int(count), set(who.split(", "))) for check, cause, count, who, *_ in rows}
        expected = _diagnoses(found)
        assert {key: (len(s), s) for key, s in expected.items()} == shown
        assert shown["filter_outputs", "raised-RuntimeError"][1] == {HOSTILE}, "the hostile name is shown as text"
        assert SCRIPT in page.inner_text("#diagnosis-table"), "the hostile message is shown as text"
        ungraded = page.evaluate("""[...document.querySelectorAll('#ungraded-table tr')].slice(1).map(
            tr => tr.children[0].innerText)""")
        assert ungraded == ["garbled"]
        checks = page.evaluate("document.querySelectorAll('#check-table tr').length")
        assert checks == 1 + sum(1 for t in found["wraps_around"]["tests"] if t["max_score"] > 0)
        page.screenshot(path=str(tmp_path / "report-screenshot.png"), full_page=True)
    assert (tmp_path / "report-screenshot.png").stat().st_size > 10_000


def _course(tmp_path, found, assignment="lab2a", lost=True):
    """A course folder as `lab2a autograde` leaves it, made without running nbgrader: the gradebook, and each
    student's autograded notebook with the report in its metadata."""
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    (course / "submitted").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment(assignment)
        for student, report in found.items():
            gradebook.add_student(student)
            gradebook.add_submission(assignment, student)
            (course / "submitted" / student / assignment).mkdir(parents=True)
            notebook = nbformat.v4.new_notebook()
            notebook.metadata[METADATA] = {"report": report}
            if student == "garbled":
                notebook.metadata[METADATA]["stand_in"] = {"problem": "not valid JSON", "kept": None}
            path = course / "autograded" / student / assignment / "lab2a.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(notebook, path)
        if lost:  # submitted, but nbgrader left no graded notebook
            gradebook.add_student("lost")
            gradebook.add_submission(assignment, "lost")
    return course


@pytest.mark.slow
def test_a_course_folder_is_read_from_the_gradebook_and_the_autograded_notebooks(reports, tmp_path):
    found, _ = reports
    course = _course(tmp_path, found)
    entries = {e.student: e for e in load(course)}
    assert set(entries) == set(found) | {"lost"}
    assert entries["garbled"].problem.startswith("stand-in graded") and "nbgrader left no" in entries["lost"].problem
    assert entries["wraps_around"].report == found["wraps_around"] and entries["wraps_around"].graded
    result = run_lab2a("report", course, tmp_path / "course.html")
    assert "5 students, 2 not graded" in result.stdout


def test_the_nbgrader_channel_keeps_the_full_report_in_the_autograded_notebook():
    report = unreadable("alice/lab2a", "not valid JSON")
    notebook = nbformat.read(RELEASE, as_version=4)
    fill(notebook, report)
    assert notebook.metadata[METADATA]["report"] == json.loads(report.to_json())


def _bad(capsys, *args):
    status = cli.main(["report", *map(str, args)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.slow
def test_bad_sources_are_one_line_and_exit_2(reports, tmp_path, capsys):
    found, folder = reports
    out = tmp_path / "out.html"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no gradebook.db and no *.json" in _bad(capsys, empty, out)
    assert "does not exist" in _bad(capsys, tmp_path / "absent", out)
    course = tmp_path / "new-course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("")
    assert "without gradebook.db" in _bad(capsys, course, out)
    other = _course(tmp_path / "other", {"alice": found["wraps_around"]}, assignment="lab1")
    assert "has no assignment 'lab2a' (it has: lab1)" in _bad(capsys, other, out)
    nobody = _course(tmp_path / "nobody", {}, lost=False)
    assert "no submission" in _bad(capsys, nobody, out)
    for name, change, said in (("old", {"schema_version": 2}, "schema_version 2; expected 3"),
                               ("foreign", {"assignment": "lab1b"}, "assignment 'lab1b'"),
                               ("gradescope", {"schema_version": None, "tests": None}, "not a `lab2a grade --json`")):
        results = tmp_path / name
        results.mkdir()
        report = {k: v for k, v in {**found["wraps_around"], **change}.items() if v is not None}
        (results / "alice.json").write_text(json.dumps(report))
        assert said in _bad(capsys, results, out), name
    assert not out.exists()


def test_bad_input_from_the_command_line_has_no_traceback(tmp_path):
    result = run_lab2a("report", tmp_path, tmp_path / "out.html", check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_load_raises_bad_input_for_a_file(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(BadInput, match="is a file"):
        load(tmp_path / "x.json")
