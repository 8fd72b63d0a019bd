"""The lab notebook: nbgrader structure, the generated release, and the solutions staying in step."""

import copy
import json
import re
import shlex
import shutil
import subprocess
import sys

import nbformat
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import solutions  # the repository's answer key (not in the installed package)
from lab2a.autograder.checks.manifest import ANSWERS, CHECKS

from .conftest import ROOT

SOURCE = ROOT / "source" / "lab2a" / "lab2a.ipynb"
RELEASE = ROOT / "release" / "lab2a" / "lab2a.ipynb"
NBGRADER = [sys.executable, "-m", "nbgrader"]


def cells(path):
    return nbformat.read(path, as_version=4).cells


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def by_id(path):
    return {nbgrader_meta(c)["grade_id"]: c for c in cells(path) if "grade_id" in nbgrader_meta(c)}


def isolated_env(tmp_path):
    """Jupyter and IPython write into the home directory unless told otherwise."""
    import os
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR"):
        env[name] = str(tmp_path / name.lower())
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env['PATH']}" if (ROOT / ".venv").exists() else env["PATH"]
    return env


# --- structure -----------------------------------------------------------------------------------

def test_every_check_has_one_test_cell_with_its_points():
    tests = {gid: c for gid, c in by_id(SOURCE).items()
             if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}
    graded = [check for check in CHECKS if check.points > 0]
    assert set(tests) == {f"test_{check.name}" for check in graded}
    for check in graded:
        cell = tests[f"test_{check.name}"]
        assert nbgrader_meta(cell)["points"] == check.points, check.name
        assert f'check_in_notebook("{check.name}", globals())' in cell.source
        hidden = "### BEGIN HIDDEN TESTS" in cell.source
        assert hidden == (not check.visible), f"{check.name}: hidden checks and only they sit in hidden regions"
    # nbgrader counts a 0-point test cell as passed whatever happens: informational checks (the GPU)
    # run in ordinary locked cells instead.
    for check in CHECKS:
        if check.points == 0:
            (cell,) = [c for c in cells(SOURCE) if f'check_in_notebook("{check.name}"' in c.source]
            assert not nbgrader_meta(cell).get("grade") and nbgrader_meta(cell).get("locked")


def test_written_answers_are_cells_a_ta_grades():
    """Each written answer of the manifest is a markdown cell nbgrader leaves to manual grading (grade and
    solution), with its points, after a locked question cell; the model answer and rubric only in source."""
    source, release = by_id(SOURCE), by_id(RELEASE)
    manual = {gid for gid, c in source.items() if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution")}
    assert manual == {answer.name for answer in ANSWERS}
    ids = [nbgrader_meta(c).get("grade_id") for c in cells(SOURCE)]
    for answer in ANSWERS:
        cell = source[answer.name]
        assert cell.cell_type == "markdown" and nbgrader_meta(cell)["points"] == answer.points
        assert "### BEGIN SOLUTION" in cell.source and "*Rubric.*" in cell.source
        question = source[ids[ids.index(answer.name) - 1]]
        assert nbgrader_meta(question).get("locked")
        assert f"({answer.points} points, graded by your TA)" in question.source
        assert release[answer.name].source == "YOUR ANSWER HERE"


def test_test_cells_end_with_a_statement():
    # nbgrader reads a test cell's trailing expression as partial credit: a call returning None is fine,
    # a bare number or object is not.
    import ast
    for gid, cell in by_id(SOURCE).items():
        if nbgrader_meta(cell).get("grade") and cell.cell_type == "code":
            last = ast.parse(cell.source).body[-1]
            assert not isinstance(last, ast.Expr) or isinstance(last.value, ast.Call), gid


def test_solution_regions_only_where_students_write():
    solution_ids = {gid for gid, c in by_id(SOURCE).items() if nbgrader_meta(c).get("solution")}
    assert solution_ids == {"train", "convolutional_filter", *(answer.name for answer in ANSWERS)}
    for cell in cells(SOURCE):
        if "BEGIN SOLUTION" in cell.source:
            assert nbgrader_meta(cell).get("solution")
        meta = nbgrader_meta(cell)
        assert meta.get("schema_version") == 3
        assert meta.get("locked") or meta.get("solution"), f"{meta.get('grade_id')}: every other cell is locked"


def test_one_set_of_numbers_in_the_text():
    text = "\n".join(c.source for c in cells(SOURCE))
    assert "f_s = 32$ kHz" in text and "31.25" in text and "32,000" in text
    for wrong in ("64000", "64,000", "17 µs", "17 us", "L1"):
        assert wrong not in text
    assert "TAPS = 81" in text


def test_the_figures_the_text_quotes_are_the_benchmarks():
    """How long the notebook runs and how close the learned filter gets to the optimum are quoted in the
    notebook, the README and the docs (docs/students.md); both must be what `lab2a bench` last measured
    (docs/benchmarks.json), so a change of recipe or of speed that is benchmarked but not written up, or
    written up but not benchmarked, fails here."""
    import re

    measured = json.loads((ROOT / "docs" / "benchmarks.json").read_text())
    notebook = " ".join(" ".join(c.source for c in cells(SOURCE)).split())
    pages = " ".join(" ".join(path.read_text().split())
                     for path in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))))
    texts = (notebook, pages)
    assert re.search(r"within (?:about )?\d+ ?% of", pages) and re.search(r"takes about \d+ seconds on a", pages), \
        "the README and docs/ no longer quote the distance to the optimum and the notebook's run time"
    percents = {int(p) for text in texts for p in re.findall(r"within (?:about )?(\d+) ?% of", text)}
    assert len(percents) == 1, f"the text quotes several distances to the optimum: {percents}"
    (percent,) = percents
    ratio = measured["learned_over_optimal_mse"]
    assert percent - 1 < 100 * (ratio - 1) <= percent, f"benchmarked {ratio}, quoted 'within {percent} %'"
    seconds = {int(s) for text in texts for s in re.findall(r"takes about (\d+) seconds on a", text)}
    assert len(seconds) == 1, f"the text quotes several run times: {seconds}"
    (quoted,) = seconds
    assert abs(quoted - measured["notebook_seconds"]) <= 0.2 * measured["notebook_seconds"], \
        f"benchmarked {measured['notebook_seconds']:.0f} s, quoted {quoted} s"


# --- the release -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """generate_assignment run by nbgrader itself in a copy of the course."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source", course / "source")
    result = subprocess.run([*NBGRADER, "generate_assignment", "lab2a"], cwd=course, capture_output=True,
                            text=True, env=isolated_env(course))
    assert result.returncode == 0, result.stderr
    return course / "release" / "lab2a" / "lab2a.ipynb"


@pytest.mark.slow
def test_release_is_what_nbgrader_generates(regenerated):
    assert json.loads(regenerated.read_text()) == json.loads(RELEASE.read_text()), \
        "release/ is out of date: run `nbgrader generate_assignment lab2a --force` and commit it"


def test_release_shows_no_solution_and_no_hidden_test():
    text = RELEASE.read_text()
    for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", '"hidden_filter"', '"hidden_train"',
                   "batch_losses.append", "torch.fft.rfft(x, size)", "self.filter = nn.Parameter"):
        assert secret not in text, secret
    stubs = [c for c in cells(RELEASE) if nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    assert len(stubs) == 2 and all("raise NotImplementedError()" in c.source for c in stubs)
    # the signatures students must keep are given
    assert "def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):" in stubs[0].source
    assert "class ConvolutionalFilter(nn.Module):" in stubs[1].source
    assert "def __init__(self, taps):" in stubs[1].source and "def forward(self, x):" in stubs[1].source


# --- nbgrader validate: the source passes every test, the blank release none --------------------------

@pytest.fixture(scope="module")
def data_for_notebooks(tmp_path_factory):
    """A small data set the notebook runs on (via LAB2A_DATA): 64 clips."""
    from .conftest import run_lab2a
    out = tmp_path_factory.mktemp("nbdata") / "small.pt"
    run_lab2a("data", "--clips", 64, "--out", out)
    return out


def validate(path, tmp_path, data, *flags):
    env = isolated_env(tmp_path)
    env["LAB2A_DATA"] = str(data)
    result = subprocess.run([*NBGRADER, "validate", *flags, str(path)], cwd=ROOT, capture_output=True,
                            text=True, env=env, timeout=900)
    return result.stdout + result.stderr


@pytest.mark.slow
def test_source_passes_every_test(tmp_path, data_for_notebooks):
    output = validate(SOURCE, tmp_path, data_for_notebooks)
    assert "Success! Your notebook passes all the tests." in output, output[-3000:]


@pytest.mark.slow
def test_blank_release_passes_no_test(tmp_path, data_for_notebooks):
    output = validate(RELEASE, tmp_path, data_for_notebooks, "--invert")
    assert "Success! The notebook does not pass any tests." in output, output[-3000:]


@pytest.mark.slow
def test_the_release_runs_top_to_bottom_as_handed_out_with_errors_only_in_the_tasks_test_cells(
        tmp_path, data_for_notebooks):
    """As a student first runs it (`jupyter nbconvert --execute --allow-errors`, or Run All): the lab's cells
    that need no task run; each one that uses train or ConvolutionalFilter says in one line which task to finish
    first (and no figure after it fails on a missing name); the only errors are the test cells' of the two
    unfinished tasks, the hidden checks' cells in one line each."""
    env = isolated_env(tmp_path)
    env["LAB2A_DATA"] = str(data_for_notebooks)
    out = tmp_path / "ran.ipynb"
    result = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                             "--allow-errors", str(RELEASE), "--output", str(out)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = {nbgrader_meta(c)["grade_id"]: c for c in cells(out) if c.cell_type == "code"}
    errors = {gid: o for gid, c in ran.items() for o in c.outputs if o.output_type == "error"}
    tests = {f"test_{check.name}" for check in CHECKS if check.points > 0}
    assert set(errors) == tests
    for check in ("hidden_train", "hidden_filter"):
        error = errors[f"test_{check}"]
        task = "Task 1 (train)" if check == "hidden_train" else "Task 2 (ConvolutionalFilter)"
        assert error.ename == "Unfinished" and error.traceback == [f"Unfinished: {error.evalue}"]
        assert error.evalue.startswith(f"Finish {task} first: this cell uses it")
    said = {gid: "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") for gid, c in ran.items()}
    assert said["fcnn"] == said["fcnn_listen"] == (
        "Finish Task 1 (train) first: this cell uses it (train: it raised NotImplementedError).\n")
    for gid in ("train_filter", "optimal", "compare_taps", "listen_filter", "spectra"):
        assert said[gid] == ("Finish Task 1 (train) and Task 2 (ConvolutionalFilter) first: this cell uses them "
                             "(train: it raised NotImplementedError; ConvolutionalFilter: it raised "
                             "NotImplementedError).\n"), gid
    # the lab's cells before the tasks drew their figures and players
    figures = [o for gid in ("plot_waveforms", "listen_data") for o in ran[gid].outputs
               if o.output_type == "display_data"]
    assert len(figures) == 3


# --- solutions/ and the notebook stay in step ---------------------------------------------------------

def notebook_namespace():
    """The source notebook's definitions (solution cells and the locked evaluate/FCNN code)."""
    namespace = {}
    wanted = by_id(SOURCE)
    exec(compile(wanted["setup"].source.replace("torch.manual_seed(0)", ""), "setup", "exec"), namespace)
    for gid in ("train", "convolutional_filter"):
        exec(compile(wanted[gid].source, gid, "exec"), namespace)
    for gid, name in (("evaluate", "def snr_db"), ("fcnn", "if finished(")):
        source = wanted[gid].source.split(name)[0]   # the definitions, without the cell's run
        exec(compile(source, gid, "exec"), namespace)
    return namespace


def test_notebook_filter_equals_reference():
    ns = notebook_namespace()
    rng = torch.Generator().manual_seed(1)
    for taps, shape in ((1, (7,)), (81, (3, 1, 500)), (40, (2, 25)), (5, (2, 3, 1, 64))):
        taps_values = torch.randn(taps, generator=rng)
        x = torch.randn(shape, generator=rng)
        outputs = []
        for cls in (ns["ConvolutionalFilter"], solutions.ConvolutionalFilter):
            f = cls(taps)
            with torch.no_grad():
                f.filter.copy_(taps_values)
            outputs.append(f(x))
        assert torch.equal(outputs[0], outputs[1])


def test_notebook_train_and_evaluate_equal_reference():
    ns = notebook_namespace()
    data = TensorDataset(torch.randn(21, 1, 50), torch.randn(21, 1, 50))
    results = []
    for train, evaluate in ((ns["train"], ns["evaluate"]), (solutions.train, solutions.evaluate)):
        torch.manual_seed(3)
        model = nn.Sequential(nn.Flatten(), nn.Linear(50, 50), nn.Unflatten(1, (1, 50)))
        loader = DataLoader(data, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        history = train(model, loader, optimizer, nn.MSELoss(), 3, "cpu")
        results.append((history, evaluate(model, loader, "cpu"), copy.deepcopy(model.state_dict())))
    (h1, e1, s1), (h2, e2, s2) = results
    assert h1 == h2 and e1 == e2
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_notebook_fcnn_equals_reference():
    ns = notebook_namespace()
    x = torch.randn(2, 1, 32000)
    outputs = []
    for cls in (ns["FullyConnected"], solutions.FullyConnected):
        torch.manual_seed(0)
        outputs.append(cls()(x))
    assert torch.equal(outputs[0], outputs[1])
    assert (outputs[0] < 0).any(), "a linear output layer can give negative audio"


def test_evaluate_averages_samples_not_batches():
    class Zero(nn.Module):
        def forward(self, x):
            return torch.zeros_like(x)
    y = torch.cat([torch.ones(4, 1, 10), 3 * torch.ones(1, 1, 10)])  # last batch of 1 is louder
    loader = DataLoader(TensorDataset(y, y), batch_size=4)
    assert solutions.evaluate(Zero(), loader, "cpu") == pytest.approx((4 * 1 + 1 * 9) / 5)


# --- the student's full run, from what a student receives --------------------------------------------

@pytest.mark.slow
def test_the_student_kit_alone_installs_builds_the_data_runs_the_notebook_and_checks_it(tmp_path, monkeypatch):
    """The GitHub template (`lab2a export github`: no answer key, no source notebook), installed by its own
    setup.sh into a fresh .venv; its own `lab2a data` builds the default data; the release notebook with the
    reference answers pasted runs top to bottom in that .venv's kernel (as a student runs it) and reaches the
    optimum with every figure and player; its own `lab2a check` passes it."""
    import time

    import nbclient

    from lab2a import samples

    from .conftest import run_lab2a
    kit = tmp_path / "kit"
    run_lab2a("export", "github", kit)
    env = isolated_env(tmp_path)
    env["PATH"] = env["PATH"].replace(f"{ROOT / '.venv' / 'bin'}:", "")   # a student's PATH: no course venv
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "LAB2A_TORCH", "LAB2A_TORCH_INDEX", "NBGRADER_EXECUTION"):
        env.pop(name, None)
    times = {}

    def timed(what, command, **kwargs):
        start = time.monotonic()
        result = subprocess.run(command, cwd=kit, env=env, capture_output=True, text=True, **kwargs)
        times[what] = time.monotonic() - start
        assert result.returncode == 0, f"{what}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    installed = timed("setup.sh", ["./setup.sh"], timeout=1200)
    # one line says where torch came from, one which build was installed (a mirror may serve the CPU one)
    torch_line, build_line = [line for line in installed.stderr.splitlines() if line.startswith("setup.sh: ")
                              and "torch" in line]
    assert build_line.startswith("setup.sh: torch 2.") and " installed: the " in build_line
    if "+cpu" in build_line:   # the CPU build, and nothing said of CUDA (a mirror served it here)
        assert build_line.endswith("installed: the CPU build") and "CUDA" not in torch_line + build_line
    python = str(kit / ".venv" / "bin" / "python")
    where = timed("imports", [python, "-c", "import importlib.util as u, lab2a, torch; print(lab2a.__file__, "
                              "u.find_spec('solutions'), u.find_spec('nbgrader'), u.find_spec('jupyterlab').name)"])
    # the kit's own lab2a, and nothing of the course's; JupyterLab to open the notebook with
    assert where.stdout.split() == [str(kit / "lab2a" / "__init__.py"), "None", "None", "jupyterlab"]
    timed("lab2a data", [python, "-m", "lab2a.cli", "data", "--quiet"], timeout=600)
    assert (kit / "lab2a" / "data" / "data_lab_2A.pt").exists()   # where the notebook looks by default

    # nbclient (a TA's tool, not in the kit) drives a kernel of the kit's .venv
    spec = tmp_path / "jupyter_data_dir" / "kernels" / "kit"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": [python, "-m", "ipykernel_launcher", "-f",
                                                           "{connection_file}"], "display_name": "kit",
                                                  "language": "python"}))
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "NBGRADER_EXECUTION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    notebook = samples.build(RELEASE, SOURCE, "perfect")   # the release, the reference answers pasted in
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import sys, lab2a; print('kernel:', sys.executable, lab2a.__file__)"))
    start = time.monotonic()
    nbclient.NotebookClient(notebook, kernel_name="kit", timeout=600,
                            resources={"metadata": {"path": str(kit)}}).execute()
    times["notebook"] = time.monotonic() - start

    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"kernel: {python} {kit / 'lab2a' / '__init__.py'}" in text
    assert "does not exist yet" not in text   # it found the data the kit built
    ratio = float(text.split("learned / optimal test MSE:")[1].split()[0])
    assert ratio <= 1.05, f"the recipe ends {ratio:.3f} x the optimal filter's test MSE"
    assert "running on cpu" in text
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    players = [o for o in outputs if o.output_type == "display_data" and "<audio" in o.data.get("text/html", "")]
    assert len(images) == 4 and len(players) == 6

    notebook.cells.pop()
    nbformat.write(notebook, kit / "lab2a.ipynb")
    checked = timed("lab2a check", [python, "-m", "lab2a.cli", "check", "lab2a.ipynb"], timeout=600)
    assert "18 / 18" in checked.stdout, checked.stdout
    # the README's pytest command, as written there, with the pytest setup.sh installed
    (command,) = re.findall(r"`(python -m pytest [^`]+)`", (kit / "README.md").read_text())
    items = len(CHECKS) - sum(not c.visible for c in CHECKS) + len(ANSWERS)
    ran = timed("pytest plugin", [python, *shlex.split(command)[1:], "-p", "no:cacheprovider"], timeout=600)
    assert f"collected {items} items" in ran.stdout and "Lab 2A: 18 / 18 points" in ran.stdout, ran.stdout
    print(torch_line, "|", ", ".join(f"{what} {seconds:.0f} s" for what, seconds in times.items()))
