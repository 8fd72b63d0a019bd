"""The GitHub Classroom template: what it holds, and its workflow's grading commands run locally."""

import base64
import json
import os
import shutil
import subprocess
import sys
import time

import nbformat
import pytest
import yaml
from lab2a.autograder.channels import samples
from lab2a.autograder.checks.manifest import CHECKS

from .conftest import ROOT, run_lab2a

SOURCE = ROOT / "source" / "lab2a" / "lab2a.ipynb"
RELEASE = ROOT / "release" / "lab2a" / "lab2a.ipynb"
VISIBLE_POINTS = sum(c.points for c in CHECKS if c.visible)


@pytest.fixture(scope="module")
def student_python(tmp_path_factory):
    """A Python like a student's: this environment's packages, but not this repository's editable
    install (whose import hook would serve the repository's hidden checks to the template)."""
    venv = tmp_path_factory.mktemp("student-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    ours = next(p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p))
    (next((venv / "lib").glob("python3*")) / "site-packages" / "shared.pth").write_text(ours + "\n")
    return venv / "bin"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom") / "template"
    result = run_lab2a("classroom", out)
    assert "8 graded steps, 18 points" in result.stdout
    return out


def text_files(folder):
    return {p: p.read_text() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_template_holds_no_solution_and_no_hidden_test(template):
    files = text_files(template)
    names = {p.relative_to(template).as_posix() for p in files}
    assert "lab2a.ipynb" in names and "requirements.txt" in names and ".github/workflows/classroom.yml" in names
    assert not [n for n in names if n.startswith(("solutions/", "source/"))]
    assert not [n for n in names if n.startswith("lab2a/autograder/private/") or "/nbgrader/" in n]
    assert "lab2a/autograder/sandbox/worker.py" in names and "lab2a/autograder/checks/filter.py" in names
    for path, text in files.items():
        for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "batch_losses.append", "torch.fft.rfft(x, size)",
                       "optimizer.step()\n            batch_losses", "def run(s: Scenario"):
            assert secret not in text, (path, secret)
    assert (template / "lab2a.ipynb").read_text() == RELEASE.read_text()
    assert "torch==2.13.0" in (template / "requirements.txt").read_text()
    assert "nbgrader" not in (template / "requirements.txt").read_text()


def test_frozen_runs_replace_the_reference_loop(template):
    # The template's judges read the reference trajectory from JSON and agree with the grader's loop.
    frozen = json.loads((template / "lab2a" / "autograder" / "judge" / "frozen_runs.json").read_text())
    from lab2a.autograder.checks.train import TRAJECTORY
    from lab2a.autograder.judge import training
    for mistake in (None, *training.LOOP_MISTAKES):
        run = training.reference_run(TRAJECTORY, mistake)
        stored = frozen[training._key(TRAJECTORY, mistake)]
        assert [[tuple(b) for b in e] for e in stored["epochs"]] == run.epochs
        assert all(stored["parameters"][k] == v.tolist() for k, v in run.parameters.items())


def workflow_steps(template):
    workflow = yaml.safe_load((template / ".github" / "workflows" / "classroom.yml").read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = [s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    reporter = next(s for s in steps
                    if s.get("uses", "").startswith("classroom-resources/autograding-grading-reporter"))
    return workflow, graders, reporter


def test_workflow_has_one_all_or_nothing_step_per_graded_check(template):
    workflow, graders, reporter = workflow_steps(template)
    assert workflow["jobs"]["run-autograding-tests"]["runs-on"] == "ubuntu-latest"
    graded = [c for c in CHECKS if c.visible and c.points > 0]
    assert [s["id"] for s in graders] == [c.name for c in graded]
    assert [s["with"]["max-score"] for s in graders] == [c.points for c in graded]
    assert sum(s["with"]["max-score"] for s in graders) == VISIBLE_POINTS
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graders]
    for step in graders:
        assert reporter["env"][f"{step['id'].upper()}_RESULTS"] == f"${{{{steps.{step['id']}.outputs.result}}}}"


def command_grader(step, folder, python_bin) -> dict:
    """What autograding-command-grader does with a step: run the command; exit 0 is a pass worth max-score."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAB2A_DATA")}
    env["PATH"] = f"{python_bin}{os.pathsep}{env['PATH']}"
    started = time.monotonic()
    result = subprocess.run(["bash", "-c", step["with"]["command"]], cwd=folder, capture_output=True, text=True,
                            env=env, timeout=60 * step["with"]["timeout"])
    passed = result.returncode == 0
    max_score = step["with"]["max-score"]
    return {"version": 1, "status": "pass" if passed else "fail", "max_score": max_score,
            "tests": [{"name": step["with"]["test-name"], "status": "pass" if passed else "fail",
                       "score": max_score if passed else 0, "message": result.stdout[-2000:],
                       "test_code": step["with"]["command"], "filename": "", "line_no": 0,
                       "duration": int(1000 * (time.monotonic() - started))}]}


def check_schema(result: dict) -> None:
    assert set(result) == {"version", "status", "max_score", "tests"} and result["version"] == 1
    assert result["status"] in ("pass", "fail", "error")
    for test in result["tests"]:
        assert set(test) == {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}
        assert test["status"] in ("pass", "fail", "error") and 0 <= test["score"] <= result["max_score"]


@pytest.mark.parametrize("sample, expected", [("perfect", VISIBLE_POINTS), ("blank", 0)])
def test_grading_commands_on_a_student_repository(template, student_python, tmp_path, sample, expected):
    repo = tmp_path / "student"
    shutil.copytree(template, repo)
    nbformat.write(samples.build(RELEASE, SOURCE, sample), repo / "lab2a.ipynb")
    _, graders, reporter = workflow_steps(template)
    results = {}
    for step in graders:
        result = command_grader(step, repo, student_python)
        check_schema(result)
        base64.b64encode(json.dumps(result).encode())  # the action's output: its JSON, base64-encoded
        results[step["id"]] = result
    recorded = sum(t["score"] for r in results.values() for t in r["tests"])           # what Classroom records
    logged = sum(sum(t["status"] == "pass" for t in r["tests"]) / len(r["tests"]) * r["max_score"]
                 for r in results.values())                                              # what the log prints
    assert recorded == logged == expected
    if sample == "blank":   # a failing step's log says why
        assert all("is not implemented yet" in " ".join(r["tests"][0]["message"].split()) for r in results.values())


def test_the_template_cannot_grade_hidden_checks(template, student_python):
    # Run from the template, `lab2a` is the template's own copy: it has no hidden checks to run.
    result = subprocess.run([str(student_python / "python"), "-m", "lab2a.cli", "grade", "lab2a.ipynb"],
                            cwd=template, capture_output=True, text=True)
    assert result.returncode == 2 and "lacks the code of the hidden checks" in result.stderr


def test_the_template_has_no_ta_tools(template, student_python):
    for command in ("demo", "bench", "classroom"):
        args = [command] + (["elsewhere"] if command == "classroom" else [])
        result = subprocess.run([str(student_python / "python"), "-m", "lab2a.cli", *args], cwd=template,
                                capture_output=True, text=True)
        assert result.returncode == 2 and "needs the course repository" in result.stderr, command
