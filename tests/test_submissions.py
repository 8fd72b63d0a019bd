"""Every submission of the catalogue (submissions.py) graded through both channels, for real: `lab2a grade
FOLDER` (its JSON reports and CSV) and nbgrader (`lab2a autograde --jobs 2`, the whole catalogue as one
class, generate_feedback, export). Both give each submission exactly the points its honest part deserves,
check by check, and agree on every check by construction; then each attack is looked at for what it tried:
files read or written, processes left behind, connections made, hidden tests shown.
"""

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
import torch

from lab2a.autograder.channels.nbgrader import course as nbgrader_course
from lab2a.autograder.channels.nbgrader import intake
from lab2a.autograder.checks.manifest import CHECKS
from lab2a.autograder.sandbox.confine import abi_version

from . import course_grades
from . import submissions as S
from .conftest import ROOT

pytestmark = pytest.mark.slow   # end to end: not in the inner loop, `pytest -m "not slow"` (docs/testing.md)

TIMEOUT = 6   # seconds per cell and per check in both channels: short, for the endless loops
CONFINED = abi_version() >= 1   # Landlock here: the attacks that need the sandbox to hold are graded
NAMES = [name for name, s in S.catalogue(Path("/nonexistent"), 1, Path("/nonexistent")).items()
         if CONFINED or not s.confined_only]
SCORED = [c.name for c in CHECKS if c.points]
CAUSES = ROOT / "tests" / "catalogue_causes.json"   # {submission: {"check/part": cause}} of the parts that did not pass


class Listener:
    """A TCP port on this machine, counting the connections it gets."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


# Every test here reads the one grading of the whole catalogue: they run on one pytest-xdist worker
# (conftest.py: ONE_WORKER), so it is done once while the other worker runs the rest of the suite.


@pytest.fixture(scope="module")
def graded(tmp_path_factory, no_data):
    root = tmp_path_factory.mktemp("catalogue")
    # graded once per run: a second worker grading it too would double the suite's longest piece of work
    run = tmp_path_factory.getbasetemp()   # under xdist, each worker's is a folder of the run's
    graders = (run.parent if "PYTEST_XDIST_WORKER" in os.environ else run) / "catalogue-graded-by"
    graders.mkdir(exist_ok=True)
    (graders / os.environ.get("PYTEST_XDIST_WORKER", "main")).touch()
    listener = Listener()
    shm_before = _shared_memory_segments() if os.path.exists("/proc/sysvipc/shm") else 0
    (root / "victim.txt").write_text("a file of the grader's")
    (root / "victim.txt").chmod(0o644)
    catalogue = {name: s for name, s in S.catalogue(root / "escaped.txt", listener.port, root / "victim.txt").items()
                 if name in NAMES}
    as_submitted = root / "as-submitted"   # a copy lab2a grade reads: lab2a autograde repairs submitted/ in place
    for name, submission in catalogue.items():
        submission.build(as_submitted / name / "lab2a")
    isolated = []

    def submit(course):
        shutil.copytree(as_submitted, course / "submitted", symlinks=True)   # a link stays a link
        isolated.append(subprocess.Popen(   # the other channel, on the other core, meanwhile
            [sys.executable, "-m", "lab2a.cli", "grade", str(as_submitted), "--jobs", "1", "--timeout", str(TIMEOUT),
             "--csv", str(root / "isolated.csv"), "--json", str(root / "reports")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))

    course = root / "course"
    autograde = nbgrader_course.run_ta_workflow(ROOT, course, submit, jobs=2,   # the class as one, in parallel
                                                  settings=f"c.GradeInSandbox.timeout = {TIMEOUT}")
    out, err = isolated[0].communicate(timeout=900)
    assert isolated[0].returncode == 0, out + err
    with open(root / "isolated.csv") as f:
        csv_rows = {row["student"]: row for row in csv.DictReader(f)}
    import json
    reports = {name: json.loads((root / "reports" / f"{name}.json").read_text()) for name in catalogue}
    assert len(list(graders.iterdir())) == 1, f"the catalogue was graded by {sorted(graders.iterdir())}"
    return {"root": root, "course": course, "catalogue": catalogue, "nbgrader": nbgrader_course.cell_scores(course),
            "csv": csv_rows, "reports": reports, "listener": listener, "autograde": autograde, "shm_before": shm_before}


def _nbgrader_points(graded, name) -> dict:
    cells = graded["nbgrader"][name]
    return {c.name: cells[f"test_{c.name}"] for c in CHECKS if c.points}


def _isolated_points(graded, name) -> dict:
    return {c: float(graded["csv"][name][c]) for c in SCORED}


def results_of(graded, name) -> dict:
    return {t["name"]: t for t in graded["reports"][name]["tests"]}


def parts_of(graded, name, check) -> dict:
    return {p["name"]: p for p in results_of(graded, name)[check]["parts"]}


@pytest.mark.parametrize("name", NAMES)
def test_each_submission_gets_what_it_deserves_from_both_channels(graded, name):
    expected = {c: float(graded["catalogue"][name].expected[c]) for c in SCORED}
    isolated, nbgrader = _isolated_points(graded, name), _nbgrader_points(graded, name)
    messages = {c: t["message"][:300] for c, t in results_of(graded, name).items()
                if isolated.get(c) != expected.get(c)}
    assert isolated == expected, messages
    assert nbgrader == isolated, "the two channels disagree"


def _status_of(test: dict) -> str:
    """A check's status as the report's format states it, from its points and its parts' statuses."""
    parts = {p["status"] for p in test["parts"]}
    if not parts:   # a notebook that could not be graded
        return "error"
    if parts <= {"pass"}:
        return "pass"
    if parts == {"skipped"}:
        return "skipped"
    if 0 < test["score"] < test["max_score"]:
        return "partial"
    return "fail" if "fail" in parts or "error" not in parts else "error"


def test_every_report_is_complete_and_adds_up(graded):
    for name, report in graded["reports"].items():
        assert report["schema_version"] == 3 and [t["name"] for t in report["tests"]] == [c.name for c in CHECKS]
        for t in report["tests"]:
            assert t["score"] == (0 if report["problem"] else sum(p["score"] for p in t["parts"])), (name, t)
            assert t["status"] == _status_of(t), (name, t)
            assert isinstance(t["message"], str) and t["message"].strip()
        assert report["score"] == sum(t["score"] for t in report["tests"]) == float(graded["csv"][name]["score"])


def _causes(report) -> dict:
    return {f"{t['name']}/{p['name']}": p["cause"]
            for t in report["tests"] for p in t["parts"] if p["status"] != "pass"}


def test_each_part_that_did_not_pass_names_its_mistake_by_the_key_recorded(graded):
    """The class report counts mistakes by these keys (judge/causes.py): every part that did not pass has one,
    and each submission's are those recorded in catalogue_causes.json, so a reworded message or a moved check
    changes no count. After a deliberate change of keys, or for new submissions, record them again:
    LAB2A_RECORD_CAUSES=1 pytest tests/test_submissions.py -k recorded (then read the diff)."""
    found = {name: _causes(report) for name, report in graded["reports"].items()}
    for name, causes in found.items():
        assert all(isinstance(key, str) and key for key in causes.values()), (name, causes)
    if os.environ.get("LAB2A_RECORD_CAUSES"):
        CAUSES.write_text("{\n" + ",\n".join(f"{json.dumps(name)}: {json.dumps(found[name], sort_keys=True)}"
                                              for name in sorted(found)) + "\n}\n")
    recorded = json.loads(CAUSES.read_text())
    gpu_checks = ("filter_device", "filter_cuda") if torch.cuda.is_available() else ()  # recorded without a GPU
    for name in sorted(set(found) & set(recorded)):
        kept = {part: key for part, key in found[name].items() if not part.startswith(gpu_checks)}
        assert kept == {part: key for part, key in recorded[name].items() if not part.startswith(gpu_checks)}, name


# ---- what the attacks tried ---------------------------------------------------------------------------------

pytestmark_confined = pytest.mark.skipif(not CONFINED, reason="needs Linux Landlock (5.13 or newer)")


@pytestmark_confined
def test_every_submission_was_graded_confined(graded):
    for name, report in graded["reports"].items():
        if not report["problem"]:
            assert report["sandbox"]["confined"] is True, (name, report["sandbox"])


@pytestmark_confined
def test_no_file_outside_the_sandbox_was_read_or_written(graded):
    assert not (graded["root"] / "escaped.txt").exists()
    assert (graded["root"] / "victim.txt").stat().st_mode & 0o7777 == 0o644
    cells = {c["name"]: c for c in graded["reports"]["writes_outside_and_kills_the_grader"]["cells"]}
    assert "PermissionError" in cells["train"]["message"] and "escaped.txt" in cells["train"]["message"]
    kill = results_of(graded, "writes_outside_and_kills_the_grader")["filter_outputs"]["message"]
    assert "PermissionError" in kill  # os.kill(os.getppid(), ...) refused, and the grader lived on


@pytestmark_confined
def test_the_answer_key_is_out_of_reach(graded):
    assert graded["reports"]["uses_the_key_only_when_graded"]["score"] == 0  # nothing tells it it is graded
    for name in ("imports_the_solutions", "runs_the_source_notebook", "uses_the_grader_internals"):
        report = graded["reports"][name]
        assert report["score"] == 0, name
        said = " ".join(c["message"] for c in report["cells"])
        assert "Permission denied" in said or "PermissionError" in said or "No module named" in said, (name, said)


def _shared_memory_segments() -> int:
    with open("/proc/sysvipc/shm") as segments:
        return len(segments.readlines()) - 1


@pytestmark_confined
def test_no_shared_memory_outlives_the_grade(graded):
    assert _shared_memory_segments() == graded["shm_before"]
    cells = {c["name"]: c for c in graded["reports"]["takes_shared_memory"]["cells"]}
    assert cells["train"]["status"] == "ok"   # the calls fail with an error number: nothing is raised


@pytestmark_confined
def test_no_process_outlives_the_grade_and_no_connection_is_made(graded):
    survivors = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if S.SURVIVOR_MARK.encode() in f.read():
                    survivors.append(pid)
        except OSError:
            continue
    assert survivors == []
    assert graded["listener"].connections == 0
    assert graded["reports"]["spawns_survivors"]["score"] == 22
    assert graded["reports"]["connects_to_the_network"]["score"] == 22


def test_forged_sandbox_answers_earn_only_what_the_honest_code_earns(graded):
    tests = results_of(graded, "forges_the_sandbox_answers")
    for check in ("filter_structure", "filter_outputs", "filter_impulse", "filter_device", "hidden_filter"):
        assert "changed the grader's sandbox (lab2a.autograder.sandbox.ops" in tests[check]["message"], check
    assert "not implemented yet" in tests["train_trajectory"]["message"]  # the train checks stand above the forgery
    assert graded["reports"]["writes_into_the_grader_pipes"]["score"] == 22  # the fake answers changed nothing


def test_hidden_checks_never_reach_the_student(graded):
    copied = graded["reports"]["prints_through_a_copy_of_stdout"]["output"]["kept"]
    assert "through a copy: (4, 1, 32000) taps 81" in copied and "taps 257" not in copied and "taps 33" not in copied
    report = graded["reports"]["prints_the_hidden_checks"]
    kept = report["output"]["kept"]
    assert "forward (4, 1, 32000)" in kept           # the student's prints of visible checks are kept ...
    assert "(1, 1, 32000)" not in kept and "taps 257" not in kept   # ... none made during a hidden check
    assert "TRAIN_SCENARIO" not in kept and "def sizes" not in kept
    course = graded["course"]
    for name in graded["catalogue"]:
        page = (course / "feedback" / name / "lab2a" / "lab2a.html").read_text(encoding="utf-8")
        assert course_grades.hidden_test_leaks(page) == [], name
    page = (course / "feedback" / "hidden_test_marker_in_a_cell" / "lab2a" / "lab2a.html").read_text(encoding="utf-8")
    assert "copied from somewhere" in page   # the student's own cell is there, marker text defused


# ---- honest work, and the messages mistakes get ------------------------------------------------------------

def test_statements_beside_definitions_never_cost_them(graded):
    cells = graded["reports"]["helper_cell_with_a_failing_assert"]["cells"]
    helper = next(c for c in cells if c["kind"] == "added" and "PAD_POWER" in str(c))
    assert any("assert" in s["statement"] for s in helper["skipped"])
    slow = next(c for c in graded["reports"]["slow_definition_beside_quick_ones"]["cells"] if c["kind"] == "added")
    assert "timed out" in slow["message"] and "WARM_UP" in slow["message"]
    segfault = next(c for c in graded["reports"]["segfault_after_train"]["cells"] if c["name"] == "train")
    assert "SIGSEGV" in segfault["message"] and "CRASH" in segfault["message"]


def test_a_helper_below_the_tests_is_named_with_where_it_is(graded):
    message = results_of(graded, "helper_defined_below_the_tests")["filter_outputs"]["message"]
    assert "causal_fft_filter is defined in your cell" in message and "below this check's test cell" in message


def test_mistakes_are_named_for_what_they_are(graded):
    stateful = results_of(graded, "stateful_filter")["filter_structure"]["message"]
    assert "keeps something from one call to the next" in stateful
    assert "forward changed self.filter" in results_of(graded, "flips_its_taps")["filter_gradient"]["message"]
    assert "rows of the batch leak" in results_of(graded, "joins_inner_rows")["filter_outputs"]["message"]
    assert "between loss.backward() and optimizer.step()" in results_of(
        graded, "zero_grad_between_backward_and_step")["train_trajectory"]["message"]
    lost = parts_of(graded, "crashes_for_more_taps_than_samples", "filter_outputs")["more taps than samples"]
    assert lost["score"] == 0 and "120 random taps" in lost["message"]
    assert "timed out after 6 s" in results_of(graded, "endless_forward")["filter_outputs"]["message"]
    assert "os._exit(3)" in results_of(graded, "os_exit_in_forward")["filter_outputs"]["message"]
    assert "allocate too much memory" in results_of(graded, "huge_allocations")["filter_outputs"]["message"]
    assert "sys.exit('training done')" in results_of(graded, "sys_exit_in_train")["train_trajectory"]["message"]
    assert "SyntaxError" in results_of(graded, "syntax_error_in_train")["train_trajectory"]["message"]
    assert graded["reports"]["megabytes_printed"]["output"]["bytes"] > S.MEGABYTES


def test_partial_credit_shows_in_nbgrader_as_a_line_per_part(graded):
    import nbformat
    notebook = nbformat.read(graded["course"] / "autograded" / "crashes_for_more_taps_than_samples" / "lab2a" /
                             "lab2a.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if S.grade_id(c) == "test_filter_outputs")
    text = cell.outputs[0]["text"]
    assert text.startswith("✗ filter_outputs 3/4\n") and "  ✗ more taps than samples (0/1)" in text
    assert cell.outputs[1]["data"]["text/plain"] == "3"


# ---- files that are not a notebook to grade ---------------------------------------------------------------------

@pytest.mark.parametrize("name, phrase", [("invalid_json", "not valid JSON"), ("no_cells", "has no cells"),
                                          ("non_utf8", "not UTF-8 text"), ("several_notebooks", "several notebooks"),
                                          ("nothing_submitted", "no notebook was submitted")])
def test_unreadable_submissions_get_0_and_the_reason_in_both_channels(graded, name, phrase):
    report = graded["reports"][name]
    assert report["score"] == 0 and phrase in " ".join(report["problem"].split())
    page = (graded["course"] / "feedback" / name / "lab2a" / "lab2a.html").read_text(encoding="utf-8")
    assert "This is not your notebook" in page and phrase in " ".join(page.split())
    original = graded["root"] / "as-submitted" / name / "lab2a" / "lab2a.ipynb"
    kept = graded["course"] / "submitted" / name / "lab2a" / ("lab2a.ipynb" + intake.KEPT_SUFFIX)
    if original.exists():  # what the student sent is kept, byte for byte
        assert kept.read_bytes() == original.read_bytes()


def test_red_team_round_3(graded):
    """Surrogates are graded, not a crash; 20000 failing statements are listed 20 at a time; tampering the
    first snapshot missed is seen; a hidden check never quotes the student's error text."""
    cells = graded["reports"]["twenty_thousand_failing_statements"]["cells"]
    assert any("and 19980 more statements" in c["message"] for c in cells)
    for name, what in (("swaps_a_sandbox_module", "lab2a.autograder.sandbox.scenario"),
                       ("patches_dataloader_iter", "DataLoader.__iter__"),
                       ("adds_tensor_numpy", "Tensor.numpy (added or removed)"),
                       ("torch_mode_makes_equal_true", "a torch function mode")):
        assert what in results_of(graded, name)["filter_outputs"]["message"], name
    tests = results_of(graded, "errors_quote_hidden_inputs")
    assert "LEAK" not in tests["hidden_filter"]["message"] and "LEAK" not in tests["hidden_train"]["message"]
    page = (graded["course"] / "feedback" / "errors_quote_hidden_inputs" / "lab2a" / "lab2a.html").read_text(
        encoding="utf-8")
    assert "LEAK shape=(1, 1, 32000)" not in page and "opt={" not in page


def test_written_answers_stay_a_tas_whatever_the_student_flags(graded):
    """The answer's flags are set back (2 points, a manually graded answer): the written one waits for a TA,
    the one made a code cell never ran (its check switch-off changed nothing) and is back to text."""
    written = course_grades.written_scores(graded["course"])["written_answer_claims_its_points"]
    assert written["answer_fcnn"] == (0, True)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{graded['course'] / 'gradebook.db'}") as gradebook:
        assert {g.name: g.max_score for g in gradebook.find_submission_notebook(
            "lab2a", "lab2a", "written_answer_claims_its_points").grades if g.cell.cell_type == "markdown"} == {
            "answer_fcnn": 2, "answer_filter": 2}
    notebook = nbformat.read(graded["course"] / "autograded" / "written_answer_claims_its_points" / "lab2a" /
                             "lab2a.ipynb", as_version=4)
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "answer_filter"]
    assert cell.cell_type == "markdown"


# ---- limits that hold; hidden checks that quote nothing the student's code made (catalogue/limits.py) ------------

def _cell_messages(graded, name) -> str:
    return " ".join(c["message"] for c in graded["reports"][name]["cells"])


def test_each_limit_stops_the_statement_that_passes_it(graded):
    assert "a message of over 200000 values" in _cell_messages(graded, "floods_the_grader_with_objects")
    threads = _cell_messages(graded, "starts_a_thousand_threads")
    if "(a pids cgroup)" in graded["reports"]["starts_a_thousand_threads"]["sandbox"]["processes"]:
        assert "can't start new thread" in threads   # the kernel's refusal, in the statement that asked
    else:
        assert "started more than 64 threads" in threads   # the grader's poll
    assert "wrote more than 512 MiB of files" in _cell_messages(graded, "keeps_unnamed_files")
    if CONFINED:
        assert "PermissionError" in _cell_messages(graded, "talks_over_a_socketpair")


def test_a_hidden_check_quotes_nothing_the_students_code_made_from_its_inputs(graded):
    """The carriers put "LEAK" and the hidden inputs' first numbers into an exit text, a type's name, the names
    of returned objects' classes and of an attribute: none of it in the report, the feedback or the TA's notebook."""
    from lab2a.autograder.judge.unquoted import STEPS

    from .catalogue.limits import CARRIERS
    for name in CARRIERS:
        report = graded["reports"][name]
        assert "LEAK" not in json.dumps(report), name
        for path in (graded["course"] / "feedback" / name / "lab2a" / "lab2a.html",
                     graded["course"] / "autograded" / name / "lab2a" / "lab2a.ipynb"):
            assert "LEAK" not in path.read_text(encoding="utf-8"), path
    exits = parts_of(graded, "hidden_inputs_in_returned_types_and_an_exit_code", "hidden_filter")["corners"]
    assert exits["message"] == STEPS["ended"]   # no exit code
    named = results_of(graded, "hidden_inputs_in_a_type_name_and_exit_text")
    assert "raised an exception" in named["hidden_filter"]["message"]
    assert "sys.exit(...)" in named["hidden_train"]["message"]
