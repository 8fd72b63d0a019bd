"""Grading notebook files in isolation: `lab2a grade` and `lab2a check` end to end on real submission
notebooks (correct, buggy, blank, hostile, damaged), plus the pieces the isolation rests on (the safe
transport, the student-code rule, the grader's copy of the setup cell).

Each notebook is graded by the real command in a subprocess, once per test, so the tests spread over
pytest-xdist workers.
"""

import ast
import base64
import json
import pickle
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest

from lab2a.autograder import CHECKS, available, run_judge, run_probe
from lab2a.autograder.sandbox import transport
from lab2a.autograder.grading.grade import _verdict
from lab2a.autograder.sandbox.confine import abi_version
from lab2a.autograder.grading.isolate import Outcome
from lab2a.autograder.sandbox.prelude import SETUP, namespace as prelude_namespace
from lab2a.autograder.grading.submission import definitions_of, read

from . import submissions as S
from .conftest import ROOT, run_lab2a
from .test_checks import namespace as exec_namespace

ALL = [c.name for c in CHECKS]
VISIBLE = [c.name for c in CHECKS if c.visible]
POINTS = {c.name: c.points for c in CHECKS}
FILTER = [c.name for c in CHECKS if c.task == "filter"]
TRAIN = [c.name for c in CHECKS if c.task == "train"]
FILTER_POINTS = sum(POINTS[n] for n in FILTER)
TRAIN_POINTS = sum(POINTS[n] for n in TRAIN)
# the filter checks that call forward (filter_cuda only builds the module when there is no GPU)
CALLS_FORWARD = [n for n in FILTER if n != "filter_cuda"]


def check_schema(report: dict, names: list) -> None:
    assert {"score", "max_score", "tests", "cells", "notes", "output", "notebook", "checks"} <= set(report)
    assert [t["name"] for t in report["tests"]] == names
    for t in report["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "message"}, t
        assert t["status"] in ("pass", "fail", "error", "skipped"), t
        assert t["max_score"] == POINTS[t["name"]]
        assert t["score"] == (t["max_score"] if t["status"] == "pass" else 0), t
        assert isinstance(t["message"], str) and t["message"].strip(), t
    assert report["score"] == sum(t["score"] for t in report["tests"])
    assert report["max_score"] == sum(t["max_score"] for t in report["tests"])


def grade(path, tmp_path, *options, command="grade", exit_code=0, limit=240):
    """`lab2a grade/check PATH --json OUT` as a subprocess: (report, stdout, seconds)."""
    out = tmp_path / "reports" / f"{path.stem}.{command}.json"
    start = time.monotonic()
    result = run_lab2a(command, path, "--json", out, *options, check=False, timeout=limit, cwd=tmp_path)
    seconds = time.monotonic() - start
    assert result.returncode == exit_code, (result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    report = json.loads(out.read_text(encoding="utf-8"))
    check_schema(report, ALL if command == "grade" else VISIBLE)
    assert f"{report['score']} / {report['max_score']}" in result.stdout
    return report, result.stdout, seconds


def by_name(report: dict) -> dict:
    return {t["name"]: t for t in report["tests"]}


def status_of(report: dict) -> dict:
    return {t["name"]: t["status"] for t in report["tests"]}


def perfect(report: dict) -> bool:
    # the GPU check is worth 0 points: skipped without a GPU
    return report["score"] == report["max_score"] == 22 and all(
        t["status"] == "pass" or (t["name"] == "filter_cuda" and t["status"] == "skipped") for t in report["tests"])


# ---- correct submissions ------------------------------------------------------------------------------

CORRECT = {
    "loop over the taps, zero_grad first": dict(
        train=S.TRAIN_ZERO_GRAD_FIRST, filter=S.CORRECT_FILTERS["loop, zeros"], file="submission.ipynb"),
    # nbgrader metadata stripped (the cells are found by what they define), an IPython magic in the train
    # cell, and a file name that is nothing like the release's
    "conv1d flipped + padding, zero_grad after step, no metadata, renamed": dict(
        train=S.TRAIN_WITH_MAGIC, filter=S.CORRECT_FILTERS["conv1d, random"], edit=S.strip_nbgrader_metadata,
        file="Lab 2A – mine (final) v2.ipynb"),
    # forward calls a helper from a cell the student added; another added cell loops forever and the
    # train cell runs a long experiment after its def: neither may cost points
    "FFT via a helper cell, heavy cells around": dict(
        train=S.TRAIN_WITH_LONG_TOP_LEVEL, filter=S.FILTER_WITH_HELPER, options=("--timeout", "5"),
        edit=S.then(S.add_cells_after("train", S.HELPER_CELL), S.add_cells_after("convolutional_filter", S.HEAVY_CELL)),
        file="fft.ipynb"),
}


@pytest.mark.parametrize("name", CORRECT)
def test_correct_submissions_get_every_point(name, tmp_path):
    spec = CORRECT[name]
    path = S.write(S.notebook(spec["train"], spec["filter"], spec.get("edit")), tmp_path / "in" / spec["file"])
    report, stdout, _ = grade(path, tmp_path, *spec.get("options", ()))
    assert perfect(report), report["tests"]
    assert report["notebook"] == str(path)
    assert "Score: 22 / 22" in stdout
    if "heavy" in name:
        train_cell = next(c for c in report["cells"] if c["name"] == "train")
        assert train_cell["status"] == "error" and "timed out after 5 s" in train_cell["message"]
        assert "definitions only" in train_cell["message"]
        assert any("was not run" in note for note in report["notes"])  # the added cell that loops forever


def test_check_runs_the_visible_checks_and_exits_0_when_they_pass(tmp_path):
    path = S.write(S.notebook(S.TRAIN_ZERO_GRAD_FIRST, S.CORRECT_FILTERS["fft, ones"]), tmp_path / "lab2a.ipynb")
    report, stdout, _ = grade(path, tmp_path, command="check", exit_code=0)
    assert report["checks"] == "visible" and report["max_score"] == 18 == report["score"]
    assert not any(t["name"].startswith("hidden") for t in report["tests"])
    assert "Hidden checks run when your notebook is graded" in stdout


# ---- buggy submissions: in between, the right check fails with the right diagnosis ----------------------

BUGGY = {
    "wrap-around, missing zero_grad": ("roll without zeroing", "no zero_grad"),
    "correlation, missing step": ("unflipped conv1d", "no step"),
    "batch mixing, correct train": ("batch as one long signal", None),
}


def check_buggy(report: dict, filter_bug: str, train_bug: str | None) -> None:
    tests = by_name(report)
    _, failures, passes = S.BUGGY_FILTERS[filter_bug]
    for name, phrase in failures.items():
        assert tests[name]["status"] == "fail" and phrase in tests[name]["message"], tests[name]
    for name in passes:
        assert tests[name]["status"] == "pass", tests[name]
    if train_bug:
        phrase = S.BUGGY_TRAINS[train_bug][1]
        for name in ("train_trajectory", "hidden_train"):
            assert tests[name]["status"] == "fail" and phrase in tests[name]["message"], tests[name]
    else:
        assert all(tests[name]["status"] == "pass" for name in TRAIN)
    assert 0 < report["score"] < report["max_score"]


@pytest.mark.parametrize("name", BUGGY)
def test_buggy_submissions_fail_the_right_checks(name, tmp_path):
    filter_bug, train_bug = BUGGY[name]
    train = S.BUGGY_TRAINS[train_bug][0] if train_bug else S.TRAIN_ZERO_GRAD_FIRST
    path = S.write(S.notebook(train, S.BUGGY_FILTERS[filter_bug][0]), tmp_path / "lab2a.ipynb")
    report, _, _ = grade(path, tmp_path)
    check_buggy(report, filter_bug, train_bug)


def test_the_same_notebook_gets_the_same_report_twice(tmp_path):
    # centred (random initial taps: messages full of numbers) and batch losses returned
    path = S.write(S.notebook(S.BUGGY_TRAINS["batch losses returned"][0], S.BUGGY_FILTERS["centred padding"][0]),
                   tmp_path / "lab2a.ipynb")
    first, _, _ = grade(path, tmp_path)
    text = (tmp_path / "reports" / "lab2a.grade.json").read_text()
    second, _, _ = grade(path, tmp_path)
    assert (tmp_path / "reports" / "lab2a.grade.json").read_text() == text
    assert first == second
    check_buggy(first, "centred padding", "batch losses returned")


def test_the_blank_release_scores_zero_and_check_exits_1(tmp_path):
    report, _, _ = grade(S.RELEASE, tmp_path)
    assert report["score"] == 0 and report["max_score"] == 22
    for t in report["tests"]:
        what = "ConvolutionalFilter" if t["name"] in FILTER else "train"
        assert t["status"] == "fail" and f"{what} is not implemented yet" in t["message"], t
    visible, _, _ = grade(S.RELEASE, tmp_path, command="check", exit_code=1)
    assert visible["score"] == 0 and visible["max_score"] == 18


# ---- hostile submissions: they end within limits, with a message saying what happened -------------------

def test_a_syntax_error_costs_its_own_task_only(tmp_path):
    path = S.write(S.notebook(S.SYNTAX_ERROR_TRAIN, S.CORRECT_FILTERS["loop, zeros"]), tmp_path / "lab2a.ipynb")
    report, stdout, _ = grade(path, tmp_path)
    tests = by_name(report)
    assert all(tests[n]["status"] in ("pass", "skipped") for n in FILTER)
    for name in TRAIN:
        assert tests[name]["status"] == "fail" and "train is not defined" in tests[name]["message"]
        assert "the cell 'train' has a SyntaxError at line" in tests[name]["message"]
    assert report["score"] == FILTER_POINTS
    assert "SyntaxError" in stdout  # in the list of the cells' problems


def test_sys_exit_in_a_cell_and_a_crash_after_a_definition(tmp_path):
    # the filter cell calls sys.exit() before its class; the train cell segfaults after its def
    path = S.write(S.notebook(S.CRASHING_TRAIN_CELL, S.SYS_EXIT_CELL), tmp_path / "lab2a.ipynb")
    report, _, _ = grade(path, tmp_path)
    tests = by_name(report)
    for name in FILTER:
        assert tests[name]["status"] == "fail", tests[name]
        assert "ConvolutionalFilter is not defined" in tests[name]["message"]
        assert "called sys.exit()" in tests[name]["message"]
    assert all(tests[n]["status"] == "pass" for n in TRAIN)
    assert report["score"] == TRAIN_POINTS
    cells = {c["name"]: c for c in report["cells"]}
    assert "SIGSEGV" in cells["train"]["message"] and "definitions only" in cells["train"]["message"]


def test_an_infinite_loop_times_out_and_the_rest_is_graded(tmp_path):
    # forward never returns; train is correct but prints megabytes
    path = S.write(S.notebook(S.PRINTING_TRAIN, S.INFINITE_FORWARD), tmp_path / "lab2a.ipynb")
    # 4 s: short for the endless forward, long enough for the printing train on a loaded 2-core machine
    report, stdout, seconds = grade(path, tmp_path, "--timeout", "4")
    tests = by_name(report)
    for name in CALLS_FORWARD:
        assert tests[name]["status"] == "error", tests[name]
        assert "timed out after 4 s" in tests[name]["message"] and "infinite loop" in tests[name]["message"]
    assert all(tests[n]["status"] == "pass" for n in TRAIN)
    assert report["score"] == TRAIN_POINTS
    assert report["output"]["bytes"] > S.MEGABYTES
    assert len(report["output"]["kept"].encode()) <= 10_000
    assert len(stdout) < 20_000  # the prints don't reach the terminal
    assert seconds < 2 * len(CALLS_FORWARD) + 60


def test_os_exit_and_sys_exit_during_checks(tmp_path):
    path = S.write(S.notebook(S.SYS_EXIT_TRAIN, S.OS_EXIT_FORWARD), tmp_path / "lab2a.ipynb")
    report, _, _ = grade(path, tmp_path)
    tests = by_name(report)
    for name in CALLS_FORWARD:
        assert tests[name]["status"] == "error", tests[name]
        assert "your code ended the Python process" in tests[name]["message"]
        assert "os._exit(3)" in tests[name]["message"]
    for name in TRAIN:
        assert tests[name]["status"] == "error" and "sys.exit('training done')" in tests[name]["message"]
    assert report["score"] == 0


def test_huge_allocations_fail_inside_the_worker(tmp_path):
    # forward: torch.empty(10**13); train: 8 GiB of address space, refused only because of the limit
    path = S.write(S.notebook(S.BIG_TRAIN, S.HUGE_FORWARD), tmp_path / "lab2a.ipynb")
    report, _, seconds = grade(path, tmp_path)
    tests = by_name(report)
    for name in CALLS_FORWARD + TRAIN:
        assert tests[name]["status"] == "fail", tests[name]
        assert "your code tried to allocate too much memory" in tests[name]["message"].lower(), tests[name]
    assert report["score"] == 0
    assert seconds < 60


@pytest.mark.skipif(abi_version() < 6, reason="needs Linux Landlock ABI 6 (kernel 6.12 or newer)")
def test_writing_outside_the_folder_and_killing_the_grader_are_refused(tmp_path):
    escaped = tmp_path / "escaped.txt"
    path = S.write(S.notebook(S.train_writing_to(escaped), S.KILLING_FORWARD), tmp_path / "lab2a.ipynb")
    report, stdout, _ = grade(path, tmp_path)
    assert not escaped.exists()
    assert report["limits"]["confinement"].startswith("confined (Landlock ABI")
    cells = {c["name"]: c for c in report["cells"]}
    assert "PermissionError" in cells["train"]["message"] and str(escaped) in cells["train"]["message"]
    tests = by_name(report)
    assert all(tests[n]["status"] == "pass" for n in TRAIN), "train is defined before the refused write"
    for name in CALLS_FORWARD:
        assert tests[name]["status"] == "fail" and "PermissionError" in tests[name]["message"], tests[name]
    assert report["score"] == TRAIN_POINTS


def test_monkeypatched_comparisons_earn_nothing(tmp_path):
    # the filter cell replaces torch's and numpy's comparison helpers, and forward returns its input
    path = S.write(S.notebook(S.TRAIN_ZERO_GRAD_FIRST, S.CHEATING_FILTER), tmp_path / "lab2a.ipynb")
    report, _, _ = grade(path, tmp_path)
    tests = by_name(report)
    for name in ("filter_outputs", "filter_impulse", "filter_gradient", "hidden_filter", "filter_convergence"):
        assert tests[name]["status"] == "fail", tests[name]
    assert report["score"] < 22 - POINTS["filter_outputs"]


def test_a_deleted_solution_cell_is_named(tmp_path):
    path = S.write(S.notebook(None, S.CORRECT_FILTERS["unfold, random"], S.delete_cell("train")),
                   tmp_path / "lab2a.ipynb")
    report, stdout, _ = grade(path, tmp_path)
    tests = by_name(report)
    for name in TRAIN:
        assert tests[name]["status"] == "fail" and "train is not defined" in tests[name]["message"]
        assert "the solution cell 'train'" in tests[name]["message"] and "Was it deleted?" in tests[name]["message"]
    assert report["score"] == FILTER_POINTS
    assert "Was it deleted?" in " ".join(stdout.split())


# ---- files that are not readable notebooks: still graded, 0 points, a message for every check ------------

def _release_text() -> str:
    return S.RELEASE.read_text(encoding="utf-8")


UNREADABLE = {
    "invalid JSON": (lambda p: p.write_text(_release_text()[:5000], encoding="utf-8"), "not valid JSON (line"),
    "non-UTF-8 bytes": (lambda p: p.write_bytes(_release_text().replace("Lab 2A", "Lab 2A \xe9").encode("latin-1",
                                                                                                        "replace")),
                        "not UTF-8 text"),
    "no cells": (lambda p: nbformat.write(nbformat.v4.new_notebook(), str(p)), "the notebook has no cells"),
    "JSON, not a notebook": (lambda p: p.write_text("[1, 2, 3]"), "not a Jupyter notebook"),
    "no such file": (lambda p: None, "there is no file"),
    "a link to /dev/zero": (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
}


@pytest.mark.parametrize("name", UNREADABLE)
def test_unreadable_notebooks_are_graded_zero_with_a_message(name, tmp_path):
    make, phrase = UNREADABLE[name]
    path = tmp_path / "lab2a.ipynb"
    make(path)
    report, stdout, _ = grade(path, tmp_path)
    assert report["score"] == 0 and report["max_score"] == 22
    for t in report["tests"]:
        assert t["status"] == "error" and t["message"].startswith("Your notebook could not be read") and phrase in t["message"], t
    assert report["problem"] and phrase in report["problem"]
    assert phrase in " ".join(stdout.split())


# ---- the grader itself can't run: exit 2, reason on stderr -----------------------------------------------

def test_a_report_that_cannot_be_written_exits_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = tmp_path / "empty.ipynb"
    path.write_text("{}")
    result = run_lab2a("grade", path, "--json", blocker / "report.json", check=False, timeout=120)
    assert result.returncode == 2 and "could not write the report" in result.stderr


def test_grade_without_the_hidden_checks_exits_2(tmp_path):
    script = (
        "import sys\n"
        "sys.modules['lab2a.autograder.private.hidden'] = None\n"
        "from lab2a.cli import main\n"
        f"sys.exit(main(['grade', {str(S.RELEASE)!r}]))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2 and "hidden checks" in result.stderr


# ---- the safe transport ------------------------------------------------------------------------------------

def test_every_probes_data_crosses_the_pipe_and_gets_the_same_verdict():
    ns = exec_namespace(S.CORRECT_FILTERS["conv1d, random"], S.TRAIN_ZERO_GRAD_FIRST)
    bad = exec_namespace(S.BUGGY_FILTERS["numpy detour"][0], S.BUGGY_TRAINS["tensors returned"][0])
    for name in available():
        for space in (ns, bad):
            data = run_probe(name, space)
            copy = transport.decode(transport.encode(data))
            assert run_judge(name, copy) == run_judge(name, data), name


def test_arrays_keep_dtype_shape_and_values():
    values = {"a": np.arange(12, dtype=np.float32).reshape(3, 1, 4), "b": np.array([np.nan, -np.inf, 1e-300]),
              "c": np.zeros((0, 5), np.int64), "d": np.array([True, False]), "e": np.float32(2.5), "f": (1, "x", None)}
    copy = transport.decode(transport.encode(values))
    for key in "abcd":
        assert copy[key].dtype == values[key].dtype and copy[key].shape == values[key].shape
        assert np.array_equal(copy[key], values[key], equal_nan=True)
    assert copy["e"] == 2.5 and copy["f"] == [1, "x", None]


def _array_message(**spec) -> bytes:
    return json.dumps({"$ndarray": spec}).encode()


@pytest.mark.parametrize("message", [
    pickle.dumps({"cases": [1, 2]}),                                                       # a pickle
    b"\x80\x04\x95" + b"x" * 20,
    _array_message(dtype="object", shape=[1], data=base64.b64encode(b"12345678").decode()),   # object arrays
    _array_message(dtype="float32", shape=[3], data=base64.b64encode(b"1234").decode()),      # wrong byte count
    _array_message(dtype="float32", shape=[-1], data=""),
    _array_message(dtype="float32", shape=[1], data="not base64!"),
    _array_message(dtype="float32", shape=[1], data=base64.b64encode(b"1234").decode(), extra=1),
    json.dumps({"$ndarray": {"dtype": "float32", "shape": [0], "data": ""}, "other": 1}).encode(),
    b'{"a": 1, "a": 2}',                                                                    # a repeated key
    "{\"a\": \"\u00e9\"}".encode("utf-8"),                                                  # not ASCII
    b"[" * 100_000 + b"]" * 100_000,                                                        # nesting
    b'{"a": ' + b"1" * 5000 + b"}",                                                         # a huge int
    b" " * (transport.MAX_MESSAGE + 1),
])
def test_the_decoder_refuses_anything_else(message):
    with pytest.raises(transport.TransportError):
        transport.decode(message)


def test_the_encoder_sends_plain_data_only():
    class Sneaky:
        def __reduce__(self):
            return (print, ("pwned",))
    for value in (Sneaky(), {"x": np.array([object()])}, {1: "int key"}, {"$ndarray": 1}, {"f": print}):
        with pytest.raises(TypeError):
            transport.encode(value)


def test_a_judge_that_fails_on_malformed_data_gives_an_error_not_a_crash():
    for data in ({"modules": "nonsense"}, {}, {"cases": [{"tensor": True}]}):
        status, message = _verdict("filter_structure", Outcome("data", data))
        assert status in ("fail", "error") and message
    status, message = _verdict("filter_outputs", Outcome("error", {"where": 1}))
    assert status == "error" and "could not use" in message


# ---- what runs: the student's code only, on the grader's own setup -------------------------------------------

def test_the_prelude_defines_every_name_of_the_release_setup_cell():
    setup = next(c for c in nbformat.read(S.RELEASE, as_version=4).cells if S.grade_id(c) == "setup")
    names = set()
    for node in ast.walk(ast.parse(setup.source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    defined = {name for name in prelude_namespace() if not name.startswith("__")}
    assert defined == names | {"F"}, defined ^ (names | {"F"})
    assert {"F", "nn", "np", "torch"} <= defined and "NotImplementedError" not in SETUP


def _cells(tmp_path, *extra_cells, edit=None):
    nb = S.notebook(S.TRAIN_ZERO_GRAD_FIRST, S.CORRECT_FILTERS["loop, zeros"], edit)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    return read(S.write(nb, tmp_path / "x.ipynb"))


def test_only_solution_cells_and_added_definitions_run(tmp_path):
    submission = _cells(tmp_path, "import math\nTAPS = 81\nSIZES = (1, -2 * 3)\n\ndef helper(x):\n    return x\n",
                        "helper(3)", "model = ConvolutionalFilter(81)\ntrain(model, [], None, None, 1, 'cpu')",
                        "%matplotlib inline\ndef plot():\n    pass", "print('hi')", "")
    kinds = [(c.name, c.kind) for c in submission.cells]
    assert kinds[:2] == [("train", "solution"), ("convolutional_filter", "solution")]
    assert [k for _, k in kinds[2:]] == ["added", "added"]       # the definitions and the magic + def cell
    assert "pass  # IPython magic" in submission.cells[3].source
    assert not any("check_in_notebook" in c.source or "FS = 32_000" in c.source for c in submission.cells)
    assert any("were not run" in note for note in submission.notes)


def test_stripped_metadata_and_copied_cells(tmp_path):
    stripped = _cells(tmp_path, edit=S.strip_nbgrader_metadata)
    assert [(c.name, c.kind) for c in stripped.cells if c.kind == "solution"] == [
        ("train", "solution"), ("convolutional_filter", "solution")]
    assert any("no nbgrader metadata" in note for note in stripped.notes)

    def duplicate_train(nb):
        index = next(i for i, c in enumerate(nb.cells) if S.grade_id(c) == "train")
        copy = nbformat.from_dict(json.loads(json.dumps(nb.cells[index])))
        copy.id = "copy-of-train"  # Jupyter gives a copied cell a new id and keeps its metadata
        nb.cells.insert(index + 1, copy)
    copied = _cells(tmp_path, edit=duplicate_train)
    assert [c.name for c in copied.cells] == ["train", "train (copy 2)", "convolutional_filter"]


def test_definitions_of_keeps_line_numbers():
    source = "import torch\nfor _ in range(10**9):\n    pass\n@staticmethod\ndef f():\n    return 1\nf()\n"
    kept = definitions_of(source)
    assert kept.splitlines() == ["import torch", "", "", "@staticmethod", "def f():", "    return 1", ""]
    assert definitions_of("print(1)") is None and definitions_of("def (") is None


def test_the_release_itself_is_read_as_two_stub_cells():
    submission = read(S.RELEASE)
    assert submission.readable and not submission.missing and not submission.notes
    assert [c.name for c in submission.cells] == ["train", "convolutional_filter"]
    assert all("raise NotImplementedError()" in c.source for c in submission.cells)


def test_the_worker_is_a_module_of_the_installed_package():
    # the grader starts `python -m lab2a.autograder.sandbox.worker` from an empty folder: it must be importable so
    result = subprocess.run([sys.executable, "-s", "-c", "import lab2a.autograder.sandbox.worker"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT.parent)
    assert result.returncode == 0, result.stderr
