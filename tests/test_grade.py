"""The grading commands as users run them: `lab2a grade` and `lab2a check` on notebook files and folders
(a subprocess each), their exit codes, tables and JSON reports. What they give each kind of submission is
test_submissions.py's; here: the command's own behaviour."""

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lab2a.autograder.checks.cases import PUBLIC_KEY
from lab2a.autograder.checks.manifest import ANSWERS, CHECKS
from lab2a.autograder.checks.outputs import MORE_TAPS
from lab2a.autograder.judge.oracle import CAUSAL

from . import implementations as I
from . import submissions as S
from .conftest import run_lab2a

ALL = [c.name for c in CHECKS]
VISIBLE = [c.name for c in CHECKS if c.visible]


def grade(path, tmp_path, *options, command="grade", exit_code=0, limit=300, names=None):
    """`lab2a grade/check PATH --json OUT` as a subprocess: (report, stdout, stderr)."""
    out = tmp_path / "reports" / f"{path.stem}.{command}.json"
    result = run_lab2a(command, path, "--json", out, *options, check=False, timeout=limit, cwd=tmp_path)
    assert result.returncode == exit_code, (result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [t["name"] for t in report["tests"]] == (names or (ALL if command == "grade" else VISIBLE))
    assert f"{report['score']} / {report['max_score']}" in result.stdout
    return report, result.stdout, result.stderr


def test_check_runs_the_visible_checks_and_exits_0_when_they_pass(tmp_path):
    path = S.write(S.notebook(I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"]), tmp_path / "lab2a.ipynb")
    report, stdout, _ = grade(path, tmp_path, command="check", exit_code=0)
    assert report["checks"] == "visible" and report["max_score"] == 18 == report["score"]
    assert "Hidden checks run when your notebook is graded" in stdout
    full, stdout, stderr = grade(path, tmp_path)
    assert full["score"] == full["max_score"] == 22 and full["checks"] == "all"
    assert "WARNING" not in stderr  # confined here
    # the written answers: listed with their points, graded by a TA, in neither total
    assert full["written"] == report["written"] == [
        {"name": a.name, "question": a.question, "max_score": a.points, "graded_by": "TA"} for a in ANSWERS]
    for answer in ANSWERS:
        assert re.search(rf"{answer.name} +– / {answer.points} +by a TA", stdout)
    assert "are graded by your TA, not here: they are not in this total." in " ".join(stdout.split())


@pytest.mark.slow
def test_the_blank_release_scores_zero_and_check_exits_1(tmp_path):
    report, _, _ = grade(S.RELEASE, tmp_path)
    assert report["score"] == 0 and report["max_score"] == 22
    visible, _, _ = grade(S.RELEASE, tmp_path, command="check", exit_code=1)
    assert visible["score"] == 0 and visible["max_score"] == 18


def test_check_only_runs_one_check(tmp_path):
    path = S.write(S.notebook(I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["loop, zeros"]), tmp_path / "lab2a.ipynb")
    out = tmp_path / "only.json"
    result = run_lab2a("check", path, "--only", "filter_outputs", "--json", out, check=False, timeout=300)
    assert result.returncode == 0
    assert [t["name"] for t in json.loads(out.read_text())["tests"]] == ["filter_outputs"]


@pytest.mark.slow
def test_the_same_notebook_gets_the_same_report_twice(tmp_path):
    # random initial taps and messages full of numbers
    path = S.write(S.notebook(I.BUGGY_TRAINS["batch losses returned"][0], I.BUGGY_FILTERS["centred padding"][0]),
                   tmp_path / "lab2a.ipynb")
    first, _, _ = grade(path, tmp_path)
    text = (tmp_path / "reports" / "lab2a.grade.json").read_text()
    second, _, _ = grade(path, tmp_path)
    again = (tmp_path / "reports" / "lab2a.grade.json").read_text()
    # everything but the time it took (schema 3's "seconds")
    assert re.sub(r'"seconds": [0-9.]+', "", again) == re.sub(r'"seconds": [0-9.]+', "", text)
    assert first.pop("seconds") >= 0 and second.pop("seconds") >= 0
    assert first == second and 0 < first["score"] < 22


def _precomputing_filter() -> str:
    """A filter that crashes for more taps than samples, except on the public inputs of that case, whose
    right output it carries with it (computed ahead of time, as from a leaked answer key)."""
    (case,) = MORE_TAPS[0].cases
    h, x = case.inputs(PUBLIC_KEY)
    answer = CAUSAL.output(h, x).astype(np.float32)
    return I.CRASHES_WHEN_TAPS_EXCEED_SAMPLES.replace("n = x.shape[-1]\n", textwrap.dedent(f"""\
        n = x.shape[-1]
        known = torch.tensor({x.ravel().tolist()!r}).reshape({x.shape!r})
        if x.shape == known.shape and bool((x == known).all()):
            return torch.tensor({answer.ravel().tolist()!r}).reshape({x.shape!r})
        """).replace("\n", "\n        ").rstrip(" "))


@pytest.mark.slow
def test_answers_computed_for_the_public_inputs_are_worth_nothing_when_graded(tmp_path):
    path = S.write(S.notebook(I.TRAIN_ZERO_GRAD_FIRST, _precomputing_filter()), tmp_path / "lab2a.ipynb")
    checked, _, _ = grade(path, tmp_path, "--only", "filter_outputs", command="check", names=["filter_outputs"])
    graded, _, _ = grade(path, tmp_path)
    assert checked["tests"][0]["score"] == 4       # the public inputs: the carried answer fits
    outputs = {t["name"]: t for t in graded["tests"]}["filter_outputs"]
    assert outputs["score"] == 3 and "more taps than samples, 0/1" in outputs["message"]


@pytest.mark.slow
def test_a_folder_is_graded_into_a_csv_and_a_report_each(tmp_path):
    for name, (train, filter_) in {"alice": (I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"]),
                                   "bob": (None, None)}.items():
        S.write(S.notebook(train, filter_), tmp_path / "submitted" / name / "lab2a" / "lab2a.ipynb")
    result = run_lab2a("grade", tmp_path / "submitted", "--csv", tmp_path / "grades.csv", "--json", tmp_path / "json",
                       timeout=600)
    assert "2 notebooks graded" in result.stdout
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    assert lines[0].split(",") == ["student", "notebook", *ALL, "score", "max_score"]
    assert lines[1].startswith("alice,") and lines[1].endswith(",22,22") and lines[2].endswith(",0,22")
    assert json.loads((tmp_path / "json" / "bob.json").read_text())["score"] == 0


@pytest.mark.slow
def test_grading_is_fast_once_the_sandbox_is_up(tmp_path):
    """One process grading several notebooks forks every worker from one server that has torch imported."""
    script = textwrap.dedent(f"""
        import sys, time
        from lab2a.autograder.grading.grade import grade_file
        grade_file({str(S.RELEASE)!r})
        started = time.monotonic()
        for _ in range(3):
            grade_file({str(S.RELEASE)!r})
        print(time.monotonic() - started)
        """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip().splitlines()[-1]) < 30  # seconds for 3 blank notebooks (about 1 here)


# ---- files that can't be graded, and the grader itself failing -------------------------------------------------

@pytest.mark.slow
def test_files_that_are_not_notebooks_are_graded_zero_with_a_message(tmp_path):
    cases = {"not-a-notebook.ipynb": (lambda p: p.write_text("[1, 2, 3]"), "not a Jupyter notebook"),
             "missing.ipynb": (lambda p: None, "there is no file"),
             "zero.ipynb": (lambda p: p.symlink_to("/dev/zero"), "not a regular file")}
    for name, (make, phrase) in cases.items():
        path = tmp_path / name
        make(path)
        report, stdout, _ = grade(path, tmp_path)
        assert report["score"] == 0 and phrase in report["problem"]
        for t in report["tests"]:
            assert t["status"] == "error" and t["message"].startswith("Your notebook could not be read"), t
        assert phrase in " ".join(stdout.split())


def test_a_report_that_cannot_be_written_exits_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = tmp_path / "empty.ipynb"
    path.write_text("{}")
    result = run_lab2a("grade", path, "--json", blocker / "report.json", check=False, timeout=120)
    assert result.returncode == 2 and "could not write the report" in result.stderr


def test_grade_without_the_private_folder_exits_2_and_check_still_runs(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["lab2a.autograder.private.hidden"] = None
        sys.modules["lab2a.autograder.private.key"] = None
        from lab2a.cli import main
        print("grade", main(["grade", {str(S.RELEASE)!r}]))
        print("check", main(["check", {str(S.RELEASE)!r}, "--only", "filter_structure"]))
        """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert "grade 2" in result.stdout and "hidden checks" in result.stderr
    assert "check 1" in result.stdout  # the blank notebook fails its visible check: graded, exit 1


def test_the_unconfined_warning_names_what_is_missing(capsys):
    from lab2a.cli import _unconfined_warning
    _unconfined_warning("grade", {"files": "not confined: Darwin is not Linux", "network": "none: ...",
                                  "confined": False})
    err = capsys.readouterr().err
    assert "WARNING" in err and "Darwin is not Linux" in err and "docs/sandbox.md" in err
