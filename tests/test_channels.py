"""Every CI channel through its real entry point: the GitHub template's workflow step, the Classroom 50
bundle's autograder.py, the Gradescope zip's run_autograder, the pytest plugin; each output validated
against its format, and the same points per check as `lab2a grade` / `lab2a check` on every sample."""

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from functools import cache
from pathlib import Path

import jsonschema
import nbformat
import pytest
import yaml
from filelock import FileLock

from lab2a import samples
from lab2a.autograder.channels import markdown
from lab2a.autograder.checks.manifest import ANSWERS, CHECKS, written_points
from lab2a.autograder.grading.grade import grade_file
from lab2a.autograder.grading.layout import grade_id
from lab2a.autograder.grading.report import written_line

from .conftest import ROOT, run_lab2a

pytestmark = pytest.mark.slow   # end to end: not in the inner loop, `pytest -m "not slow"` (docs/testing.md)

SOURCE = ROOT / "source" / "lab2a" / "lab2a.ipynb"
RELEASE = ROOT / "release" / "lab2a" / "lab2a.ipynb"
SCHEMAS = Path(__file__).with_name("schemas")
VISIBLE = [c for c in CHECKS if c.visible]
VISIBLE_POINTS = sum(c.points for c in VISIBLE)
ALL_POINTS = sum(c.points for c in CHECKS)
WRITTEN_POINTS = written_points()
SECRETS = ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "torch.fft.rfft(x, size)")  # the answer key's marks
HIDDEN_CODE = ("def run(s: Scenario", "GRADING_KEY =", "def hidden_training")  # the private modules


# ---- the exports ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def student_venv(tmp_path_factory):
    """A Python like a student's or Gradescope's: this environment's packages, but not this repository's
    editable install (whose import hook would serve the repository's own lab2a to a copy)."""
    venv = tmp_path_factory.mktemp("student-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    ours = next(p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p))
    (next((venv / "lib").glob("python3*")) / "site-packages" / "shared.pth").write_text(ours + "\n")
    return venv


EXPORTS = {"github": ("export", "github"), "legacy": ("classroom", "--legacy-classroom"),
           "classroom50": ("export", "classroom50"), "gradescope.zip": ("export", "gradescope")}


@pytest.fixture(scope="session")
def exports(tmp_path_factory, worker_id):
    """Each export, written once by its command for the whole test run (shared by pytest-xdist's workers)."""
    # (one folder per run, found by every module that uses the fixture: test_install.py's too)
    out = (tmp_path_factory.getbasetemp().parent if worker_id != "master" else tmp_path_factory.getbasetemp()) / \
        "lab2a-exports"
    with FileLock(str(out) + ".lock"):
        if not (out / "done").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            commands = [subprocess.Popen([sys.executable, "-m", "lab2a.cli", *args, out / name], cwd=ROOT,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                        for name, args in EXPORTS.items()]   # at once: each freezes the reference runs
            for command in commands:
                assert command.wait(timeout=600) == 0, command.stdout.read()
            with zipfile.ZipFile(out / "gradescope.zip") as archive:
                archive.extractall(out / "gradescope")
            for script in ("setup.sh", "run_autograder"):
                (out / "gradescope" / script).chmod(0o755)  # (extractall drops the mode the zip records)
            (out / "done").touch()
    return out


def text_files(folder: Path) -> dict:
    return {p: p.read_text() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.parametrize("export", ["github", "legacy", "classroom50"])
def test_public_copies_hold_no_answer_key_and_no_hidden_check(exports, export):
    folder = exports / export
    names = {p.relative_to(folder).as_posix() for p in text_files(folder)}
    assert not [n for n in names if n.startswith(("solutions/", "source/"))]
    assert not [n for n in names if "/private/" in n or "/nbgrader/" in n or n.endswith(("demo.py", "bench.py"))]
    assert "lab2a/autograder/sandbox/worker.py" in names and "lab2a/autograder/checks/outputs.py" in names
    assert "lab2a/autograder/judge/frozen_runs.json" in names and "lab2a/release.ipynb" in names
    for path, text in text_files(folder).items():
        for secret in SECRETS + HIDDEN_CODE:
            assert secret not in text, (path, secret)
    requirements = (folder / "requirements.txt").read_text()
    assert "torch==2.13.0" in requirements.splitlines() and "nbgrader" not in requirements
    # no index option: each install asks lab2a/torch_index.py for torch's (tests/test_install.py), so none waits
    # on pip's retries when PyTorch's CPU index can't be reached
    assert not [line for line in requirements.splitlines() if line.startswith("--")]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements   # in a comment, by hand
    assert "lab2a/torch_index.py" in names
    if export != "classroom50":   # the student's kit: setup.sh
        assert os.access(folder / "setup.sh", os.X_OK) and ".venv/" in (folder / ".gitignore").read_text()
    if export != "classroom50":
        assert (folder / "lab2a.ipynb").read_text() == RELEASE.read_text()


def test_the_gradescope_zip_holds_the_hidden_checks_but_no_answer_key(exports):
    with zipfile.ZipFile(exports / "gradescope.zip") as archive:
        names = archive.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert {"setup.sh", "run_autograder", "requirements.txt", "lab2a/autograder/private/hidden.py"} <= set(names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111   # at the zip's root, executable
    assert not [n for n in names if n.startswith(("solutions/", "source/")) or n.endswith(".ipynb")
                and n != "lab2a/release.ipynb" or "/nbgrader/" in n]
    for path, text in text_files(exports / "gradescope").items():
        for secret in SECRETS:
            assert secret not in text, (path, secret)
    setup = (exports / "gradescope" / "setup.sh").read_text()
    assert '-m venv "$ROOT/venv"' in setup and "requirements.txt" in setup   # its own Python, not the system's


def test_frozen_runs_replace_the_reference_loop(exports):
    # A public copy's judges read the reference trajectory from JSON and agree with the grader's own loop.
    frozen = json.loads((exports / "github" / "lab2a" / "autograder" / "judge" / "frozen_runs.json").read_text())
    from lab2a.autograder.checks.train import TRAJECTORY
    from lab2a.autograder.judge import training
    for mistake in (None, *training.LOOP_MISTAKES):
        run = training.reference_run(TRAJECTORY, mistake)
        stored = frozen[training._key(TRAJECTORY, mistake)]
        assert [[tuple(b) for b in e] for e in stored["epochs"]] == run.epochs
        assert all(stored["parameters"][k] == v.tolist() for k, v in run.parameters.items())


def test_the_template_cannot_grade_hidden_checks_and_has_no_ta_tools(exports, student_venv):
    python = str(student_venv / "bin" / "python")
    result = subprocess.run([python, "-m", "lab2a.cli", "grade", "lab2a.ipynb"], cwd=exports / "github",
                            capture_output=True, text=True)
    assert result.returncode == 2 and "lacks the code of the hidden checks" in result.stderr
    for args in (["demo"], ["bench"], ["export", "github", "elsewhere"]):
        result = subprocess.run([python, "-m", "lab2a.cli", *args], cwd=exports / "github", capture_output=True,
                                text=True)
        assert result.returncode == 2 and f"lab2a {args[0]} needs the course repository" in result.stderr, args


# ---- the workflows ----------------------------------------------------------------------------------------

def actionlint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([shutil.which("actionlint") or "actionlint", "-no-color", str(path)], capture_output=True,
                          text=True)


@pytest.mark.parametrize("export, workflow", [("github", "lab2a.yml"), ("legacy", "classroom.yml")])
def test_workflows_pass_actionlint(exports, export, workflow):
    path = exports / export / ".github" / "workflows" / workflow
    result = actionlint(path)
    assert result.returncode == 0, result.stdout + result.stderr
    # actionlint is the judge of deprecated runtimes: it rejects the same workflow on Node 20 actions
    old = path.with_name("old.yml")
    old.write_text(path.read_text().replace("checkout@v5", "checkout@v4"))
    assert "deprecated" in actionlint(old).stdout
    old.unlink()


def test_the_classroom50_cache_step_passes_actionlint_in_the_runners_grade_job(exports, tmp_path):
    """The step README.md tells a teacher to add to autograde-runner.yaml's grade job, in a job shaped like it
    (the setup job's python output): actionlint accepts it, on a current action's runtime."""
    from lab2a.autograder.channels import classroom50

    readme = (exports / "classroom50" / "README.md").read_text()
    step = readme.split("```yaml\n")[1].split("```")[0]
    key = classroom50.requirements_key((exports / "classroom50" / "requirements.txt").read_text())
    assert f"key: lab2a-{key}-" in step and "path: ~/.cache/lab2a" in step
    workflow = tmp_path / "autograde-runner.yaml"
    workflow.write_text(f"""name: runner
on: workflow_call
jobs:
  setup:
    runs-on: ubuntu-latest
    outputs:
      python: ${{{{ steps.read.outputs.python }}}}
    steps:
      - id: read
        run: echo "python=3.11" >> "$GITHUB_OUTPUT"
  grade:
    needs: setup
    runs-on: ubuntu-latest
    steps:
{step}      - name: Grade details
        run: python3 runner.py
""")
    result = actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_classroom50_grades_with_the_environment_an_earlier_run_installed(exports, student_venv, tmp_path):
    """On a runtime's Python without torch, autograder.py finds its environment in the cache folder (as a
    self-hosted runner keeps it, or the cache step restores it) and grades with it: nothing is installed."""
    from lab2a.autograder.channels import classroom50

    key = classroom50.requirements_key((exports / "classroom50" / "requirements.txt").read_text())
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    cached = tmp_path / "cache" / f"classroom50-py{version}-{key}"
    cached.parent.mkdir()
    os.symlink(student_venv, cached, target_is_directory=True)   # an environment with the requirements
    (student_venv / "installed").touch()
    try:
        folder = tmp_path / "checkout"
        _write(folder, {"lab2a.ipynb": sample("filter_only")})
        env = _environment(LAB2A_CACHE=str(tmp_path / "cache"), PIP_INDEX_URL="http://127.0.0.1:9/none",
                           PIP_CONFIG_FILE=os.devnull)   # (an install would fail)
        python = shutil.which(f"python{sys.version_info[0]}.{sys.version_info[1]}", path="/usr/bin:/usr/local/bin")
        result = subprocess.run([python, str(exports / "classroom50" / "autograder.py")], cwd=folder, env=env,
                                capture_output=True, text=True, timeout=600)
    finally:
        (student_venv / "installed").unlink()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"autograder.py: the lab's requirements from {cached} (installed by an earlier run)" in result.stdout
    document = json.loads((folder / "result.json").read_text())
    jsonschema.validate(document, json.loads((SCHEMAS / "classroom50-result-v1.schema.json").read_text()))
    assert document["score"] == 14


def test_the_native_workflow_grades_every_push_with_the_cpu_wheel_cached(exports):
    workflow = yaml.safe_load((exports / "github" / ".github" / "workflows" / "lab2a.yml").read_text())
    assert set(workflow[True]) == {"push", "workflow_dispatch"}   # (YAML reads `on:` as True)
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["checks"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == "requirements.txt"
    assert python["with"]["python-version"] == "3.11"   # the Python the requirements are tested on
    (install,) = [s for s in steps if s.get("id") == "install"]   # torch's index: lab2a/torch_index.py's choice
    assert 'torch_index=$(python lab2a/torch_index.py "install step")' in install["run"]
    assert "python -m pip install $torch_index -r requirements.txt" in install["run"]
    assert steps[-1]["run"] == "python -m lab2a.cli check lab2a.ipynb --github"


def test_the_legacy_workflow_keeps_one_all_or_nothing_step_per_check(exports):
    workflow = yaml.safe_load((exports / "legacy" / ".github" / "workflows" / "classroom.yml").read_text())
    assert workflow["name"] == "Autograding Tests"
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = [s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    reporter = steps[-1]
    graded = [c for c in VISIBLE if c.points > 0]
    assert [s["id"] for s in graders] == [c.name for c in graded]
    assert [s["with"]["max-score"] for s in graders] == [c.points for c in graded]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter")
    assert reporter["with"]["runners"].split(",") == [c.name for c in graded]
    for step in graders:
        assert reporter["env"][f"{step['id'].upper()}_RESULTS"] == f"${{{{ steps.{step['id']}.outputs.result }}}}"
        assert step["if"] == "${{ !cancelled() }}"   # they run when the native step failed the job
    assert any(s.get("run") == "python -m lab2a.cli check lab2a.ipynb --github" for s in steps)


# ---- running each channel's entry point ---------------------------------------------------------------------

def workflow_commands(stdout: str) -> list[tuple[str, str, str]]:
    """The workflow commands GitHub's runner takes from a step's output: (command, properties, message) of
    each `::name props::message` line (leading blanks ignored), none between ::stop-commands::T and ::T::;
    a `##[` anywhere in a line (the old syntax) counts as a command too."""
    commands, stopped = [], None
    for line in stdout.splitlines():
        text = line.lstrip()
        if stopped is not None:
            if text == f"::{stopped}::":
                stopped = None
            continue
        if text.startswith("::"):
            head, _, message = text[2:].partition("::")
            name, _, properties = head.partition(" ")
            if name == "stop-commands":
                stopped = message
                continue
            commands.append((name, properties, message))
        elif "##[" in line:
            commands.append(("##[", "", line))
    return commands


def _write(folder: Path, files: dict) -> None:
    """files: name -> a notebook, or the text of a file."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, str):
            (folder / name).write_text(content)
        else:
            nbformat.write(content, folder / name)


def _environment(**extra) -> dict:
    """This process's environment without what would point a copy at this repository, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAB2A_DATA")}
    env.update(extra)
    return env


def run_github_step(exports, student_venv, folder: Path, files: dict) -> dict:
    """The template's grading step on a student's repository holding files, as Actions runs it."""
    shutil.copytree(exports / "github", folder)
    (folder / "lab2a.ipynb").unlink()
    _write(folder, files)
    env = _environment(PATH=f"{student_venv / 'bin'}{os.pathsep}{os.environ['PATH']}", GITHUB_ACTIONS="true",
                       GITHUB_WORKSPACE=str(folder), GITHUB_STEP_SUMMARY=str(folder.parent / "summary.md"),
                       GITHUB_OUTPUT=str(folder.parent / "output.txt"))
    step = yaml.safe_load((folder / ".github" / "workflows" / "lab2a.yml").read_text())["jobs"]["checks"]["steps"][-1]
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=600)
    outputs = dict(line.split("=", 1) for line in (folder.parent / "output.txt").read_text().splitlines())
    return {"exit": result.returncode, "stdout": result.stdout, "stderr": result.stderr,
            "commands": workflow_commands(result.stdout), "summary": (folder.parent / "summary.md").read_text(),
            "score": int(outputs["score"]), "max": int(outputs["max-score"])}


def run_classroom50(exports, student_venv, folder: Path, files: dict, env_extra=None) -> dict:
    """autograder.py as the Classroom 50 runner runs it: no arguments, in the student's checkout."""
    _write(folder, files)
    env = _environment()
    env.update({"CLASSROOM": "sp27", "ASSIGNMENT": "lab2a", "SUBMISSION_TAG": "submit/20261125T120000Z-abc1234",
                "GITHUB_REPOSITORY": "sp27-org/sp27-lab2a-alice", "GITHUB_SHA": "abc1234",
                "COMMIT_URL": "https://github.com/sp27-org/sp27-lab2a-alice/commit/abc1234",
                "RELEASE_URL": "https://github.com/sp27-org/sp27-lab2a-alice/releases/tag/submit",
                "CLASSROOM50_BUNDLE_DIR": str(exports / "classroom50"), **(env_extra or {})})
    result = subprocess.run([str(student_venv / "bin" / "python"), str(exports / "classroom50" / "autograder.py")],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    document = json.loads((folder / "result.json").read_text())
    jsonschema.validate(document, json.loads((SCHEMAS / "classroom50-result-v1.schema.json").read_text()))
    assert document["score"] <= document["max-score"]
    assert all(t["score"] <= t["max-score"] for t in document["tests"])
    return {"exit": result.returncode, "stderr": result.stderr, "result": document,
            "body": (folder / "release-body.md").read_text()}


def run_gradescope(exports, student_venv, root: Path, files: dict, build=None) -> dict:
    """run_autograder in a Gradescope-like /autograder (AUTOGRADER_ROOT): source/ unzipped, a venv of the
    lab's own, the student's files in submission/ (files, or what build(folder) writes there)."""
    (root / "submission").mkdir(parents=True)
    shutil.copytree(exports / "gradescope", root / "source")
    (root / "venv").symlink_to(student_venv, target_is_directory=True)
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"name": "Alice", "email": "a@x"}]}))
    _write(root / "submission", files)
    if build is not None:
        build(root / "submission")
    # (as root, run_autograder would make an account of its own)
    env = _environment(AUTOGRADER_ROOT=str(root), LAB2A_SANDBOX_USER="nobody")
    result = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True,
                            text=True, timeout=600)
    document = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(document, json.loads((SCHEMAS / "gradescope-results.schema.json").read_text()))
    return {"exit": result.returncode, "stdout": result.stdout, "stderr": result.stderr, "result": document}


def run_pytest(folder: Path, notebook) -> dict:
    _write(folder, {"lab2a.ipynb": notebook})
    junit = folder / "junit.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--lab2a-notebook",
                             str(folder / "lab2a.ipynb"), f"--junitxml={junit}"], cwd=folder, capture_output=True,
                            text=True, timeout=600)
    cases = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        failure = case.find("failure")
        if properties.get("graded_by") == "TA":   # a written answer: skipped, with no points
            cases[case.get("name")] = {"written": int(properties["max_points"]), "points": properties.get("points"),
                                       "skipped": case.find("skipped") is not None}
            continue
        cases[case.get("name")] = {"points": int(properties["points"]), "max": int(properties["max_points"]),
                                   "failed": failure is not None,
                                   "message": failure.get("message", "") + (failure.text or "") if failure is not None
                                   else ""}
    return {"exit": result.returncode, "stdout": result.stdout, "cases": cases}


def torch_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


@cache
def sample(name: str):
    return samples.build(RELEASE, SOURCE, name)


def reference(tmp_path, name) -> tuple[dict, dict]:
    """What `lab2a grade` and `lab2a check` give a sample (the same grader, here in this process): points
    per check."""
    return tuple({t.name: (t.score, t.max_score) for t in tests} for tests in reference_tests(tmp_path, name))


def reference_tests(tmp_path, name) -> tuple[list, list]:
    """The checks' results `lab2a grade` and `lab2a check` give a sample."""
    nbformat.write(sample(name), tmp_path / f"{name}.ipynb")
    return tuple(grade_file(tmp_path / f"{name}.ipynb", hidden=hidden).tests for hidden in (True, False))


@pytest.mark.parametrize("name", ["perfect", "blank", "wraps_around"])
def test_every_channel_gives_the_same_points_per_check(exports, student_venv, tmp_path, name):
    every, visible = reference(tmp_path, name)
    assert sum(s for s, _ in every.values()) == {"perfect": ALL_POINTS, "blank": 0}.get(name, 14)

    github = run_github_step(exports, student_venv, tmp_path / "github" / "repo", {"lab2a.ipynb": sample(name)})
    assert (github["score"], github["max"]) == (sum(s for s, _ in visible.values()), VISIBLE_POINTS)
    rows = [line for line in github["summary"].splitlines() if line.startswith("| `")]
    assert {row.split("`")[1]: tuple(map(int, row.split("|")[3].split("/"))) for row in rows} == visible
    failing = [c for c in VISIBLE if c.points and visible[c.name][0] < c.points]
    errors = [props for command, props, _ in github["commands"] if command == "error"]
    assert len(errors) == len(failing) and all("file=lab2a.ipynb,line=" in e for e in errors)
    assert [command for command, _, _ in github["commands"]].count("notice") == 1
    assert github["exit"] == (0 if not failing else 1)   # the job's status: every visible check passed

    # a check that could not run here (the GPU's, 0 points, without a GPU) reads as skipped, never as passed:
    # the formats without a "skipped" (Classroom 50's result.json, Gradescope's tests) leave it out, and their
    # texts say it was skipped; the job summary and the release's table say so in its row
    every_tests, visible_tests = reference_tests(tmp_path, name)
    skipped = {t.name for t in every_tests if t.status == "skipped"}
    passed = {t.name for t in every_tests if t.status == "pass"}
    if not torch_cuda():
        assert "filter_cuda" in skipped
    for check in skipped & set(visible):
        assert f"| `{check}` | filter | 0 / 0 | ➖ skipped |" in github["summary"]

    c50 = run_classroom50(exports, student_venv, tmp_path / "classroom50", {"lab2a.ipynb": sample(name)})
    assert c50["exit"] == 0, c50["stderr"]
    assert {t["test-name"].split()[0]: (t["score"], t["max-score"]) for t in c50["result"]["tests"]} == {
        check: points for check, points in visible.items() if check not in skipped}
    assert {t["test-name"].split()[0] for t in c50["result"]["tests"] if t["passed"]} == passed & set(visible)
    assert c50["result"]["score"] == sum(s for s, _ in visible.values())
    assert all(f"| `{check}` |" in c50["body"] for check in visible)
    for check in skipped & set(visible):
        assert f"| `{check}` | filter | 0 / 0 | ➖ skipped |" in c50["body"]

    gradescope = run_gradescope(exports, student_venv, tmp_path / "autograder", {"lab2a.ipynb": sample(name)})
    tests = gradescope["result"]["tests"]
    assert {t["name"].split()[0]: (t["score"], t["max_score"]) for t in tests} == {
        check: points for check, points in every.items() if check not in skipped}
    assert {t["name"].split()[0]: t["visibility"] for t in tests} == {
        c.name: "visible" if c.visible else "after_published" for c in CHECKS if c.name not in skipped}
    assert {t["name"].split()[0] for t in tests if t["status"] == "passed"} == passed
    for check in skipped:
        assert f"- ➖ `{check}` (filter, 0 points): skipped." in gradescope["result"]["output"]
    for test in every_tests:   # each message once: a check's own, or (of several parts) a line per part
        if test.name in skipped:
            continue
        (output,) = [t["output"] for t in tests if t["name"].startswith(f"{test.name} ")]
        if len(test.parts) == 1:
            assert output == markdown.escape(test.message) + "\n"
        else:
            assert markdown.escape(test.message) not in output
            assert output.splitlines() == [line for line in output.splitlines() if line.startswith("- ")]
            assert len(output.splitlines()) == len(test.parts)
            assert all(markdown.escape(part["message"]) in output for part in test.parts)
    if os.geteuid() == 0:   # run as root (as Gradescope does), the student's code ran as the account it was given
        assert "the student's code ran as nobody (uid 65534)" in gradescope["stdout"], gradescope["stdout"]

    pytest_run = run_pytest(tmp_path / "pytest", sample(name))
    checks = {case: c for case, c in pytest_run["cases"].items() if "written" not in c}
    assert f"collected {len(pytest_run['cases'])} items" in pytest_run["stdout"]   # the items it then runs
    assert {case: (c["points"], c["max"]) for case, c in checks.items()} == visible
    assert {case for case, c in checks.items() if c["failed"]} == {c.name for c in failing}

    # the written answers, in every channel: points a TA gives, never 0 here and never passed
    for answer in ANSWERS:
        for page in (github["summary"], c50["body"], gradescope["result"]["output"]):
            assert f"| {markdown.escape(answer.question)} | – / {answer.points} | graded by a TA |" in page
        assert pytest_run["cases"][answer.name] == {"written": answer.points, "points": None, "skipped": True}
    notice = next(text for command, _, text in github["commands"] if command == "notice")
    assert f"{WRITTEN_POINTS} points) are graded by your TA" in notice
    assert not any(t["test-name"].startswith("answer") for t in c50["result"]["tests"])
    assert pytest_run["exit"] == (0 if not failing else 1)
    for check in failing:  # each channel shows the check's message, as `lab2a check` words it
        message = next(t for t in c50["result"]["tests"] if t["test-name"].startswith(check.name))["message"]
        assert message[:60] in pytest_run["cases"][check.name]["message"]


def _grouped_catalogue(escaped: Path = Path("/nonexistent"), port: int = 9, victim: Path = Path("/nonexistent")):
    from . import submissions
    return submissions._grouped(escaped, port, victim)


# Of the catalogue's entries kept in tests/catalogue/, two attacks of each group (run_autograder starts a grader
# of its own per submission, some 8 s: all 52 would add 7 minutes to the suite; every entry goes
# through lab2a grade and nbgrader in test_submissions.py, and Gradescope grades with the same grade_chosen).
ON_GRADESCOPE = (
    "code_hidden_behind_separators_in_comments", "late_future_import_under_time",
    "forged_stand_in_mark_with_a_problem", "links_to_the_instructors_notebook", "floods_the_grader_with_objects",
    "hidden_inputs_in_a_type_name_and_exit_text", "gc_finds_the_channel", "frame_walk_says_batches_moved",
    "forges_an_unchanged_input_through_the_stack", "batches_tagged_with_a_moved_tensors_type")


def test_the_gradescope_sample_of_the_newer_entries_is_in_the_catalogue():
    assert set(ON_GRADESCOPE) <= set(_grouped_catalogue())


@pytest.mark.parametrize("name", ON_GRADESCOPE)
def test_the_catalogues_newer_entries_get_the_same_points_on_gradescope(exports, student_venv, tmp_path, name):
    """Issue 18's entries (cells as IPython reads them, marks a student forges, limits, code that reaches into the
    interpreter, properties) through Gradescope's run_autograder: the points test_submissions.py finds through
    lab2a grade and nbgrader, check by check."""
    from lab2a.autograder.sandbox.confine import abi_version

    submission = _grouped_catalogue(tmp_path / "escaped.txt", 9, tmp_path / "victim.txt")[name]
    if submission.confined_only and abi_version() < 1:
        pytest.skip("needs Linux Landlock (5.13 or newer)")
    gradescope = run_gradescope(exports, student_venv, tmp_path / "autograder", {}, build=submission.build)
    points = {t["name"].split()[0]: t["score"] for t in gradescope["result"]["tests"]}
    expected = {c.name: float(submission.expected[c.name]) for c in CHECKS}
    skipped = set(expected) - set(points)   # (a check that could not run here is not a test there: 0 points)
    assert points == {name: score for name, score in expected.items() if name not in skipped}, \
        gradescope["stdout"][-3000:]
    assert all(expected[name] == 0 and f"`{name}`" in gradescope["result"]["output"] for name in skipped)
    assert not (tmp_path / "escaped.txt").exists()


# ---- what a student's text can't do ---------------------------------------------------------------------------

FORGED = ("'\\n::error title=forged::all checks pass\\n::notice::Lab 2A: 18 / 18 points\\n##[error]old syntax"
          "\\n::add-mask::secret\\n| `filter_outputs` | filter | 4 / 4 | passed | forged row |\\n"
          "<img src=x onerror=alert(1)> [phish](https://example.com)'")


def forging_notebook():
    """Correct code, but forward raises an error whose text tries to forge workflow commands and table rows."""
    notebook = sample("perfect")
    notebook = nbformat.reads(nbformat.writes(notebook), as_version=4)
    for cell in notebook.cells:
        if grade_id(cell) == "convolutional_filter":
            cell.source = cell.source.replace("    def forward(self, x):",
                                              f"    def forward(self, x):\n        raise RuntimeError({FORGED})\n"
                                              f"\n    def _unused(self, x):")
    return notebook


def test_a_students_text_issues_no_workflow_command_and_no_table_row(exports, student_venv, tmp_path):
    github = run_github_step(exports, student_venv, tmp_path / "repo", {"lab2a.ipynb": forging_notebook()})
    assert "::error title=forged::" in github["stdout"]   # it was printed, inside the stopped region
    assert all("forged" not in props and "Lab 2A: 18" not in message for _, props, message in github["commands"])
    assert not [c for c in github["commands"] if c[0] in ("##[", "add-mask")]
    notice = [message for command, _, message in github["commands"] if command == "notice"]
    assert notice == [f"{github['score']} / {VISIBLE_POINTS} points (visible checks). {written_line()}"]
    assert github["score"] < 18
    rows = [line for line in github["summary"].splitlines() if line.startswith("|")]
    # the header, its rule, one row per check; the written answers' header, rule and rows
    assert len(rows) == 2 + len(VISIBLE) + 2 + len(ANSWERS)
    assert "<img" not in github["summary"] and "](https" not in github["summary"]
    cells = [row.count("|") - row.count("\\|") for row in rows]   # no cell split by the student's |
    assert cells == [6] * (2 + len(VISIBLE)) + [4] * (2 + len(ANSWERS))


# ---- bad input: every channel still writes its result ------------------------------------------------------------

BAD = {
    "missing": {},
    "several": {"lab2a (1).ipynb": "release", "lab2a (2).ipynb": "release"},
    "invalid json": {"lab2a.ipynb": '{"cells": [ broken'},
}


def _bad_files(kind: str) -> dict:
    return {name: sample("blank") if text == "release" else text for name, text in BAD[kind].items()}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_gets_zero_and_a_message_in_every_channel(exports, student_venv, tmp_path, kind):
    why = {"missing": "no notebook was submitted", "several": "several notebooks",
           "invalid json": "not valid JSON"}[kind]
    c50 = run_classroom50(exports, student_venv, tmp_path / "c50", _bad_files(kind))
    assert c50["exit"] == 0 and c50["result"]["score"] == 0 and c50["result"]["max-score"] == VISIBLE_POINTS
    assert why in c50["body"] and why in c50["result"]["tests"][0]["message"]

    gradescope = run_gradescope(exports, student_venv, tmp_path / "autograder", _bad_files(kind))
    assert sum(t["score"] for t in gradescope["result"]["tests"]) == 0 and why in gradescope["result"]["output"]

    github = run_github_step(exports, student_venv, tmp_path / "github" / "repo", _bad_files(kind))
    assert github["exit"] == 1 and github["score"] == 0 and why in github["summary"]


def test_a_renamed_notebook_is_graded_with_a_note(exports, student_venv, tmp_path):
    c50 = run_classroom50(exports, student_venv, tmp_path / "c50", {"Lab2A-alice.ipynb": sample("filter_only")})
    assert c50["result"]["score"] == 14 and "was graded in its place" in c50["body"]


def test_gradescope_writes_valid_json_when_the_grader_cannot_start(exports, tmp_path):
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copytree(exports / "gradescope", root / "source")
    nbformat.write(sample("perfect"), root / "submission" / "lab2a.ipynb")   # and no venv: setup.sh never ran
    result = subprocess.run([str(root / "source" / "run_autograder")], env={**os.environ, "AUTOGRADER_ROOT": str(root)},
                            capture_output=True, text=True, timeout=60)
    document = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(document, json.loads((SCHEMAS / "gradescope-results.schema.json").read_text()))
    assert result.returncode == 0 and document["score"] == 0 and "not your code" in document["output"]


# ---- Gradescope's source/ is out of the student's reach ---------------------------------------------------------

PEEKING_FILTER = '''
class Peek:  # a class body runs when the class is defined (a top-level loop would not run while grading)
    import os
    SEEN = []
    for path in ("source/lab2a/autograder/private/hidden.py", "source/lab2a/autograder/private/key.py",
                 "submission_metadata.json", "submission/lab2a.ipynb"):
        try:
            SEEN.append(open(os.path.join(ROOT, path)).read()[:10])
        except OSError:
            pass
'''


def peeking_notebook(root: Path):
    """Correct code whose forward works only if the class body above could read one of root's files."""
    notebook = nbformat.reads(nbformat.writes(sample("perfect")), as_version=4)
    for cell in notebook.cells:
        if grade_id(cell) == "convolutional_filter":
            cell.source = PEEKING_FILTER.replace("ROOT", repr(str(root))) + cell.source.replace(
                "    def forward(self, x):", "    def forward(self, x):\n        assert Peek.SEEN, 'nothing was read'")
    return notebook


def test_a_submission_on_gradescope_reads_nothing_of_autograder(exports, student_venv, tmp_path):
    """Correct code that keeps its filter correct only if it read one of Gradescope's files: it scores like a
    broken filter, so none could be read (the same code reading a file of the runtime scores: see below)."""
    root = tmp_path / "autograder"
    notebook = peeking_notebook(root)
    gradescope = run_gradescope(exports, student_venv, root, {"lab2a.ipynb": notebook})
    filter_checks = [t for t in gradescope["result"]["tests"]
                     if t["name"].startswith(("filter_outputs", "filter_impulse"))]
    assert filter_checks and all(t["score"] == 0 for t in filter_checks)
    assert "nothing was read" in filter_checks[0]["output"]


def test_the_peeking_submission_scores_where_it_can_read(tmp_path):
    """The control of the test above: given a root whose files the sandbox may read (the Python runtime's),
    the same code reads one and its filter passes."""
    runtime = Path(sys.prefix)
    (tmp_path / "runtime.ipynb").write_text(nbformat.writes(peeking_notebook(tmp_path)).replace(
        "submission_metadata.json", str(runtime / "pyvenv.cfg")))
    run_lab2a("check", tmp_path / "runtime.ipynb", "--json", tmp_path / "report.json", check=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert {t["name"]: t["status"] for t in report["tests"]}["filter_outputs"] == "pass"


# ---- the legacy Classroom steps ----------------------------------------------------------------------------------

def command_grader(step: dict, folder: Path, python_bin: Path) -> dict:
    """What autograding-command-grader does with a step: run the command with only PATH and HOME; exit 0 is a
    pass worth max-score. Its result, base64-encoded, is the step's output the reporter reads."""
    env = {"PATH": f"{python_bin}{os.pathsep}/usr/bin:/bin", "HOME": str(folder)}
    result = subprocess.run(["bash", "-c", step["with"]["command"]], cwd=folder, capture_output=True, text=True,
                            env=env, timeout=60 * step["with"]["timeout"])
    passed, max_score = result.returncode == 0, step["with"]["max-score"]
    return {"version": 1, "status": "pass" if passed else "fail", "max_score": max_score,
            "tests": [{"name": step["with"]["test-name"], "status": "pass" if passed else "fail",
                       "score": max_score if passed else 0, "message": "" if passed else "failed with exit code 1",
                       "test_code": step["with"]["command"], "filename": "", "line_no": 0, "duration": 0}],
            "stdout": result.stdout}


def test_the_legacy_steps_record_each_fully_passed_check(exports, student_venv, tmp_path):
    """filter_only: the filter's checks pass, the loop's fail. Each step is all or nothing, so what the
    reporter's notice sums and what its table logs (passed/total x max-score) agree."""
    repo = tmp_path / "repo"
    shutil.copytree(exports / "legacy", repo)
    nbformat.write(sample("filter_only"), repo / "lab2a.ipynb")
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "classroom.yml").read_text())
    graders = [s for s in workflow["jobs"]["run-autograding-tests"]["steps"] if s.get("id") in
               {c.name for c in VISIBLE}]
    results = {step["id"]: command_grader(step, repo, student_venv / "bin") for step in graders}
    recorded = sum(t["score"] for r in results.values() for t in r["tests"])
    logged = sum(sum(t["status"] == "pass" for t in r["tests"]) / len(r["tests"]) * r["max_score"]
                 for r in results.values())
    _, visible = reference(tmp_path, "filter_only")
    assert recorded == logged == sum(s for s, m in visible.values() if s == m) == 14
    assert {name for name, r in results.items() if r["status"] == "fail"} == {"train_trajectory", "train_device"}
    for r in results.values():   # the log shows the check's table, with workflow commands stopped around it
        assert workflow_commands(r["stdout"]) == [] and "::stop-commands::" in r["stdout"]
