"""The checks against correct and buggy implementations, in this process (as check_in_notebook runs them in
a student's kernel): every correct style gets every point, every mistake loses the right parts with a
message that names it. The same checks behind the sandbox: test_grade.py and test_channels.py.
"""

import ast
import pathlib

import numpy as np
import pytest
import torch

import lab2a.autograder as autograder
from lab2a.autograder.channels.notebook import check_in_notebook, run_in_process
from lab2a.autograder.checks.manifest import CHECKS, check, total_points
from lab2a.autograder.checks.registry import IMPLEMENTATIONS, available

from . import implementations as I

FILTER_CHECKS = [c.name for c in CHECKS if c.task == "filter" and c.name != "filter_cuda"]
TRAIN_CHECKS = [c.name for c in CHECKS if c.task == "train"]


def namespace(*sources: str) -> dict:
    ns = {}
    for source in sources:
        exec(compile(source, "<submission>", "exec"), ns)
    return ns


def results(ns: dict, names) -> dict:
    return {name: run_in_process(name, ns) for name in names}


def parts(result) -> dict:
    return {p["name"]: p for p in result.parts}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # The lab-sized cases run ~50x slower when torch's two threads share busy cores with other jobs.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---- correct submissions get every point ------------------------------------------------------------------

@pytest.mark.parametrize("name", [*I.CORRECT_FILTERS, "float64 parameter"])
def test_correct_filters_pass_every_filter_check(name):
    source = I.FLOAT64_PARAMETER if name == "float64 parameter" else I.CORRECT_FILTERS[name]
    got = results(namespace(source, I.TRAIN_ZERO_GRAD_FIRST), FILTER_CHECKS)
    assert {k: (r.score, r.status) for k, r in got.items()} == {
        k: (check(k).points, "pass") for k in got}, {k: r.message for k, r in got.items() if r.status != "pass"}


@pytest.mark.parametrize("name", [*I.CORRECT_TRAINS, *I.MORE_CORRECT_TRAINS])
def test_correct_training_loops_pass_every_train_check(name):
    source = {**I.CORRECT_TRAINS, **I.MORE_CORRECT_TRAINS}[name]
    got = results(namespace(I.CORRECT_FILTERS["fft, ones"], source), TRAIN_CHECKS)
    assert {k: r.status for k, r in got.items()} == dict.fromkeys(got, "pass"), {k: r.message for k, r in got.items()}


def test_the_gpu_check_never_passes_without_a_gpu():
    result = run_in_process("filter_cuda", namespace(I.CORRECT_FILTERS["fft, ones"]))
    if torch.cuda.is_available():
        assert result.status == "pass", result
    else:
        assert result.status == "skipped" and result.score == 0 and "no GPU" in result.message


# ---- buggy filters: the right checks lose points, with the right diagnosis -----------------------------------

@pytest.mark.parametrize("name", I.BUGGY_FILTERS)
def test_buggy_filters_fail_the_right_checks_with_a_diagnosis(name):
    source, failures, passes = I.BUGGY_FILTERS[name]
    got = results(namespace(source, I.TRAIN_ZERO_GRAD_FIRST), [*failures, *passes])
    for name_, phrase in failures.items():
        assert got[name_].status in ("fail", "partial") and phrase in got[name_].message, (name_, got[name_])
        assert got[name_].score < got[name_].max_score
    for name_ in passes:
        assert got[name_].status == "pass", (name_, got[name_])


def test_a_failing_output_says_where_and_how_large_the_error_is():
    message = run_in_process("filter_outputs", namespace(I.BUGGY_FILTERS["roll without zeroing"][0])).message
    assert "shape (4, 1, 32000)" in message and "largest error" in message and "batch row" in message
    assert "expected" in message and "got" in message and "allowed" in message


def test_an_op_without_a_meta_kernel_does_not_fail_correct_code():
    # forward raises what PyTorch raises for an operator with no meta implementation
    source = I.buggy_filter(I.FFT.replace("n = x.shape[-1]\n", """n = x.shape[-1]
if x.device.type == "meta":
    raise NotImplementedError("Could not run 'aten::foo' with arguments from the 'Meta' backend.")
"""))
    assert run_in_process("filter_device", namespace(source)).status == "pass"


def test_a_filter_that_keeps_state_between_calls_loses_the_lab_case_and_is_told_why():
    got = results(namespace(I.STATEFUL_FILTER), ["filter_structure", "filter_outputs", "filter_impulse"])
    structure, outputs = parts(got["filter_structure"]), parts(got["filter_outputs"])
    assert structure["attributes"]["status"] == "pass"
    side_effects = structure["no side effects"]
    assert side_effects["status"] == "fail" and "keeps something" in side_effects["message"]
    assert outputs["lab batches"]["status"] == "fail"
    assert "second batch on the same module" in outputs["lab batches"]["message"]
    assert "forward keeps something from one call to the next" in outputs["lab batches"]["message"]
    assert got["filter_impulse"].status == "pass"  # each impulse response comes from a fresh module: right


def test_a_forward_that_changes_its_taps_is_named_for_it_not_for_correlation():
    got = results(namespace(I.FLIPS_ITS_TAPS), ["filter_structure", "filter_gradient", "filter_outputs"])
    side_effects = parts(got["filter_structure"])["no side effects"]
    assert side_effects["status"] == "fail" and "forward changed self.filter during call 1" in side_effects["message"]
    gradient = parts(got["filter_gradient"])["reaches the taps"]
    assert gradient["status"] == "fail" and "forward changed self.filter while it ran" in gradient["message"]
    assert "correlation" not in got["filter_gradient"].message


def test_a_filter_that_crashes_only_for_more_taps_than_samples_loses_one_point():
    got = results(namespace(I.CRASHES_WHEN_TAPS_EXCEED_SAMPLES), ["filter_outputs", "hidden_filter"])
    assert got["filter_outputs"].score == 3 and got["filter_outputs"].status == "partial"
    lost = parts(got["filter_outputs"])["more taps than samples"]
    assert "120 random taps" in lost["message"] and "ConvolutionalFilter.forward raised" in lost["message"]
    assert got["hidden_filter"].score >= 1 and parts(got["hidden_filter"])["sizes"]["status"] == "pass"


def test_rows_joined_along_a_leading_axis_are_blamed_on_leaking_rows():
    got = run_in_process("filter_outputs", namespace(I.JOINS_INNER_ROWS))
    shapes = parts(got)["other shapes"]
    assert parts(got)["lab batches"]["status"] == "pass"  # (4, 1, N): nothing is joined
    assert shapes["status"] == "fail" and "(2, 3, 1, 1000)" in shapes["message"]
    assert "rows of the batch leak" in shapes["message"] and "first K-1" not in shapes["message"]


# ---- properties judged right (issue 18) ------------------------------------------------------------------------

def test_a_detour_by_the_cpu_moved_back_with_to_x_device_keeps_the_device_point():
    got = results(namespace(I.CPU_DETOUR_MOVED_BACK), ["filter_device", "filter_outputs", "filter_gradient"])
    assert {name: r.status for name, r in got.items()} == dict.fromkeys(got, "pass"), got
    if not torch.cuda.is_available():
        assert "simulated GPU" in got["filter_device"].message and "without one" in got["filter_device"].message


@pytest.mark.parametrize("source, shape", [(I.WRITES_INTO_X_WHEN_2D, "(3, 32000)"),
                                           (I.WRITES_INTO_X_WHEN_SHORT, "(2, 1, 100)")])
def test_side_effects_are_looked_for_on_every_input_shape_the_checks_use(source, shape):
    got = results(namespace(source), ["filter_structure", "filter_outputs"])
    side_effects = parts(got["filter_structure"])["no side effects"]
    assert side_effects["status"] == "fail" and "forward changed its input x" in side_effects["message"]
    assert shape in side_effects["message"]
    assert got["filter_outputs"].status == "pass"  # each output is computed before x is changed


@pytest.mark.parametrize("source", [I.CPU_TENSOR_WHEN_LOUD, I.CPU_TENSOR_WHEN_QUIET])
def test_a_cpu_tensor_behind_a_branch_on_the_data_loses_the_device_point(source):
    got = results(namespace(source), ["filter_device", "filter_outputs"])
    assert got["filter_outputs"].status == "pass"
    assert got["filter_device"].status == "fail" and "created on the CPU" in got["filter_device"].message


def test_the_grader_reads_the_input_back_itself_after_each_call():
    """forward changes x, then makes the worker's own copy agree: the shared memory still shows the change."""
    result = run_in_process("filter_structure", namespace(I.FORGES_AN_UNCHANGED_INPUT))
    side_effects = parts(result)["no side effects"]
    assert side_effects["status"] == "fail" and "forward changed its input x during call 1" in side_effects["message"]


def test_with_a_gpu_the_device_part_compares_numbers_computed_there():
    """The choice between the GPU and the meta device, without a GPU: an asker that says there is one and runs
    the "cuda" calls on the CPU, their outputs labelled cuda:0. The meta probe must not run then."""
    from lab2a.autograder.channels.notebook import local_asker
    from lab2a.autograder.checks.cases import PUBLIC_KEY
    from lab2a.autograder.checks.registry import run_check

    def on_a_gpu(ns):
        plain = local_asker(ns)

        def ask(operation, **args):
            assert operation != "filter_meta"
            if operation == "cuda_available":
                return {"data": {"cuda": True}}
            if args.get("device") != "cuda":
                return plain(operation, **args)
            answer = plain(operation, **{**args, "device": "cpu"})
            for call in answer["data"]["calls"]:
                if isinstance(call.get("output"), dict) and call["output"].get("tensor"):
                    call["output"]["device"] = "cuda:0"
            return answer
        return ask

    right = run_check("filter_device", on_a_gpu(namespace(I.CORRECT_FILTERS["fft, ones"])), PUBLIC_KEY)
    assert right.status == "pass" and "this machine's GPU" in right.parts[0].message
    wrong = run_check("filter_device", on_a_gpu(namespace(I.BUGGY_FILTERS["roll without zeroing"][0])), PUBLIC_KEY)
    assert wrong.status == "fail" and "wraps around" in wrong.parts[0].message


# ---- buggy training loops ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", I.BUGGY_TRAINS)
def test_buggy_training_loops_fail_the_trajectory_with_a_diagnosis(name):
    source, phrase = I.BUGGY_TRAINS[name]
    got = results(namespace(I.CORRECT_FILTERS["fft, ones"], source), ["train_trajectory", "hidden_train"])
    for name_, result in got.items():
        assert result.status in ("fail", "partial") and phrase in result.message, (name_, result)


def test_a_loop_that_trains_right_but_returns_wrong_values_keeps_the_training_points():
    source = I.BUGGY_TRAINS["loss after the step"][0]
    result = run_in_process("train_trajectory", namespace(source))
    assert result.score == 2 and parts(result)["training"]["status"] == "pass"
    assert "after optimizer.step()" in parts(result)["epoch losses"]["message"]


def test_zeroing_between_backward_and_step_is_named_as_such():
    result = run_in_process("train_trajectory", namespace(I.TRAIN_ZEROES_BETWEEN))
    assert result.score == 0
    assert "between loss.backward() and optimizer.step()" in result.message
    assert "call optimizer.step() after loss.backward()" not in result.message


@pytest.mark.parametrize("edit, phrase", [
    ((I.MOVE, ""), "x = x.to(device)"),
    ((I.MOVE, "            x = x.to(device)\n"), "y = y.to(device)"),
    ((I.MOVE, "            x, y = x.to('cpu'), y.to('cpu')\n"), "x = x.to(device)"),
])
def test_batches_not_moved_to_the_device_fail_the_device_check(edit, phrase):
    ns = namespace(I.buggy_train(edit))
    assert run_in_process("train_trajectory", ns).status == "pass"  # on the CPU nothing else shows it
    result = run_in_process("train_device", ns)
    assert result.status == "fail" and phrase in result.message


@pytest.mark.parametrize("source", [I.TRAIN_TORCH_TENSOR, I.TRAIN_AS_TENSOR, I.TRAIN_NUMPY_ROUND_TRIP])
def test_a_batch_copied_without_a_device_is_not_moved(source):
    ns = namespace(source)
    assert run_in_process("train_trajectory", ns).status == "pass"
    result = run_in_process("train_device", ns)
    assert result.status == "fail" and "x = x.to(device)" in result.message


def test_a_batch_made_with_device_device_is_moved():
    assert run_in_process("train_device", namespace(I.TRAIN_TENSOR_ON_THE_DEVICE)).status == "pass"


def test_every_mistake_of_the_training_scenarios_moves_the_losses_far_beyond_the_tolerance():
    from lab2a.autograder.checks.train import RTOL, TRAJECTORY
    from lab2a.autograder.judge import training
    from lab2a.autograder.private import hidden
    for scenario in (TRAJECTORY, hidden.TRAIN_SCENARIO):
        right = training.epoch_means(training.reference_run(scenario).epochs)
        wrong = [training.epoch_means(training.reference_run(scenario, m).epochs) for m in training.LOOP_MISTAKES]
        epochs = training.reference_run(scenario).epochs
        wrong += [summarise(epochs) for summarise in training.SUMMARY_MISTAKES.values()]
        for values in wrong:
            assert max(abs(v - r) / abs(r) for v, r in zip(values, right)) > 100 * RTOL


# ---- blank and incomplete notebooks ---------------------------------------------------------------------------

def test_a_blank_notebook_fails_every_check_clearly():
    for name, result in results(namespace(I.BLANK), available()).items():
        if name == "filter_cuda":
            continue
        what = "ConvolutionalFilter" if check(name).task == "filter" else "train"
        assert result.status == "fail" and f"{what} is not implemented yet" in result.message, (name, result)


def test_missing_definitions_are_named():
    for name, result in results({}, available()).items():
        what = "ConvolutionalFilter" if check(name).task == "filter" else "train"
        assert result.score == 0 and f"{what} is not defined" in result.message, (name, result)


@pytest.mark.parametrize("source, name, phrase", [
    (I.IMPORTS + "ConvolutionalFilter = 3", "filter_outputs", "must be a class"),
    (I.IMPORTS + "class ConvolutionalFilter:\n    pass", "filter_outputs", "must inherit from nn.Module"),
    (I.filter_source("torch.zeros(taps)", I.LOOP).replace("def __init__(self, taps):", "def __init__(self, taps, n):"),
     "filter_structure", "must take one argument"),
    (I.IMPORTS + "def train(estimator, loader, optimizer, loss_fn, n_epochs):\n    return []", "train_trajectory",
     "must take six arguments"),
    (I.IMPORTS + "train = []", "train_device", "must be a function"),
    (I.filter_source("torch.zeros(taps)", I.LOOP).replace("self.filter = ", "self.taps_ = "), "filter_gradient",
     "has no attribute `filter`"),
])
def test_definitions_that_cannot_be_used_get_a_message(source, name, phrase):
    result = run_in_process(name, namespace(source))
    assert result.score == 0 and phrase in result.message, result


def test_an_exception_names_the_students_function():
    result = run_in_process("filter_gradient", namespace(I.buggy_filter("return x @ torch.ones(3, 3)\n")))
    assert result.status == "fail" and "ConvolutionalFilter.forward raised RuntimeError" in result.message


# ---- the judge is the grader's own ----------------------------------------------------------------------------

def test_the_judge_is_not_fooled_by_monkeypatched_comparisons(monkeypatch):
    for module, name in [(torch, "allclose"), (torch, "equal"), (torch.testing, "assert_close"), (np, "allclose"),
                         (np, "array_equal"), (np.testing, "assert_allclose"), (np.testing, "assert_array_equal")]:
        monkeypatch.setattr(module, name, getattr(module, name))  # restored after the test
    cheat = I.IMPORTS + """
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
"""
    ns = namespace(cheat, I.BUGGY_FILTERS["roll without zeroing"][0], I.BUGGY_TRAINS["no zero_grad"][0])
    assert torch.allclose(torch.zeros(1), torch.ones(1))  # the cheat is in place
    for name in ["filter_outputs", "filter_impulse", "filter_gradient", "train_trajectory"]:
        assert run_in_process(name, ns).status != "pass", name


def test_the_autograder_uses_no_comparison_helper_a_student_can_replace():
    root = pathlib.Path(autograder.__file__).parent
    for path in [*root.glob("judge/*.py"), *root.glob("checks/*.py"), *root.glob("private/*.py")]:
        code = path.read_text()
        for helper in ("allclose", "assert_close", "np.testing", "numpy.testing", "array_equal", "torch.equal"):
            assert helper not in code, (path.name, helper)


def test_the_same_submission_gets_the_same_results_twice():
    # random initial taps (drawn from torch's global RNG) and a buggy filter, so messages carry numbers
    sources = (I.BUGGY_FILTERS["centred padding"][0], I.BUGGY_TRAINS["no zero_grad"][0])
    first = results(namespace(*sources), available())
    torch.manual_seed(12345)
    assert results(namespace(*sources), available()) == first


def test_a_check_leaves_the_notebooks_random_state_alone():
    ns = namespace(I.CORRECT_FILTERS["conv1d, random"], I.TRAIN_ZERO_GRAD_FIRST)
    torch.manual_seed(7)
    np.random.seed(7)
    run_in_process("filter_convergence", ns)
    after = torch.rand(3), np.random.rand(3)
    torch.manual_seed(7)
    np.random.seed(7)
    assert bool((after[0] == torch.rand(3)).all()) and (after[1] == np.random.rand(3)).all()


# ---- in the student's notebook -----------------------------------------------------------------------------------

def test_in_the_notebook_a_pass_prints_one_line_and_nothing_on_stderr(capsys):
    assert check_in_notebook("train_trajectory", namespace(I.TRAIN_LOGGING)) is None
    out, err = capsys.readouterr()
    printed = [line for line in out.splitlines() if not line.startswith("batch ")]
    assert printed == [printed[0]] and printed[0].startswith("✓ train_trajectory 3/3: ")
    assert err == ""


def test_in_the_notebook_less_than_full_points_raises_with_a_line_per_part(capsys):
    with pytest.raises(AssertionError) as raised:
        check_in_notebook("filter_outputs", namespace(I.CRASHES_WHEN_TAPS_EXCEED_SAMPLES))
    lines = str(raised.value).splitlines()
    assert lines[0] == "✗ filter_outputs 3/4"
    assert lines[1].startswith("  ✓ lab batches (2/2)") and lines[3].startswith("  ✗ more taps than samples (0/1)")
    assert capsys.readouterr().err == ""


def test_in_the_notebook_a_skip_prints_the_reason(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the GPU check runs")
    assert check_in_notebook("filter_cuda", namespace(I.CORRECT_FILTERS["fft, ones"])) is None
    out, err = capsys.readouterr()
    assert out.startswith("– filter_cuda 0/0") and "no GPU" in out and err == ""


def test_an_endless_forward_in_a_notebook_cell_times_out(monkeypatch):
    import threading

    from lab2a.autograder.channels import notebook
    assert threading.current_thread() is threading.main_thread()
    monkeypatch.setattr(notebook, "NOTEBOOK_TIMEOUT", 1.0)
    endless = I.filter_source("torch.zeros(taps)", "while True:\n    pass\n")
    with pytest.raises(AssertionError, match="timed out after 1 s"):
        check_in_notebook("filter_outputs", namespace(endless))


# ---- the manifest -------------------------------------------------------------------------------------------

def test_the_manifest_defines_every_check_and_part_once_with_integer_points():
    names = [c.name for c in CHECKS]
    assert len(set(names)) == len(names) and set(names) == set(available()) == set(IMPLEMENTATIONS)
    for c in CHECKS:
        assert c.task in ("filter", "train") and c.parts
        assert len({p.name for p in c.parts}) == len(c.parts)
        assert all(isinstance(p.points, int) and p.points >= 0 for p in c.parts)
        assert list(IMPLEMENTATIONS[c.name]) == [p.name for p in c.parts]
    assert total_points("filter") == 16 and total_points("train") == 6 and total_points() == 22
    assert total_points(visible=True) == 18 and check("filter_cuda").points == 0


def test_corner_cases_cost_at_most_one_point_and_the_lab_case_carries_most():
    assert {p.name: p.points for p in check("filter_outputs").parts} == {
        "lab batches": 2, "other shapes": 1, "more taps than samples": 1}
    assert all(p.points <= 1 for p in check("hidden_filter").parts)


def test_no_grader_module_imports_the_private_folder_outside_its_fallbacks():
    """A student's kit has no private/: every import of it is guarded (a hidden check, the reference loop,
    the grading key), so the visible checks and `lab2a check` run without it."""
    root = pathlib.Path(autograder.__file__).parent
    for path in root.rglob("*.py"):
        if "private" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and ".private" in node.module:
                guarded = any(isinstance(parent, ast.Try) and node in ast.walk(parent) for parent in ast.walk(tree))
                assert guarded, f"{path.relative_to(root)} imports {node.module} outside a try"


# ---- every diagnosis carries its key ---------------------------------------------------------------------------

def _calls(name: str):
    """(path, call) of every call of `name` (a plain name or an attribute) in the grader's modules."""
    root = pathlib.Path(autograder.__file__).parent
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            called = getattr(node, "func", None)
            if isinstance(node, ast.Call) and name in (getattr(called, "id", None), getattr(called, "attr", None)):
                yield path.relative_to(root), node


def test_every_failure_the_checks_can_give_names_its_cause_where_it_is_made():
    """The class report counts mistakes by key (judge/causes.py): each Failed(...) gives its key beside its
    message, and each part result that did not pass carries one, so rewording a message changes no count."""
    failures = list(_calls("Failed"))
    assert len(failures) > 60
    for path, call in failures:
        given = {k.arg: k.value for k in call.keywords}
        assert "cause" in given, f"{path}:{call.lineno}: Failed(...) without cause="
        key = given["cause"]
        if isinstance(key, ast.Constant):
            assert isinstance(key.value, str) and key.value == key.value.lower() and " " not in key.value, \
                f"{path}:{call.lineno}: {key.value!r} is not a short key"
    results = list(_calls("PartResult"))
    assert results
    for path, call in results:
        status = call.args[3] if len(call.args) > 3 else None
        passed = isinstance(status, ast.Constant) and status.value == "pass"
        assert passed or len(call.args) == 6 or any(k.arg == "cause" for k in call.keywords), \
            f"{path}:{call.lineno}: a part that did not pass, without its cause"


def test_each_problem_with_the_definitions_is_counted_under_its_own_key():
    """The sandbox sends a problem with the student's definitions with the key student.py gives where it words
    the message (student.Unusable), and the grader counts it under that key; a key that is not one of
    student.py's, as forged code would send, is counted as unusable definitions."""
    from torch import nn

    from lab2a.autograder.judge.verdict import Failed, data_of
    from lab2a.autograder.sandbox import ops, student

    class WrongInit(nn.Module):
        def __init__(self, taps, n):
            super().__init__()

    class NotAModule(nn.Module):
        def __new__(cls, taps):
            return 3

    def module_with(value):
        module = nn.Module()
        module.filter = value
        return module

    attempts = [lambda: student.filter_class({}), lambda: student.train_function({}),
                lambda: student.filter_class({student.FILTER: 3}),
                lambda: student.filter_class({student.FILTER: type(student.FILTER, (), {})}),
                lambda: student.filter_class({student.FILTER: WrongInit}),
                lambda: student.make_filter({student.FILTER: NotAModule}, 3),
                lambda: student.train_function({student.TRAIN: []}),
                lambda: student.train_function({student.TRAIN: lambda a: a}),
                lambda: student.taps_tensor(nn.Module(), 3), lambda: student.taps_tensor(module_with([1.0]), 3),
                lambda: student.taps_tensor(module_with(torch.zeros(2)), 3)]
    given = set()
    for attempt in attempts:
        with pytest.raises(student.Unusable) as raised:
            attempt()
        given.add(raised.value.cause)
        ops.OPERATIONS["attempt"] = lambda namespace, attempt=attempt: attempt()
        try:
            answer = ops.perform({}, "attempt", {})
        finally:
            del ops.OPERATIONS["attempt"]
        with pytest.raises(Failed) as failed:
            data_of(answer)
        assert (failed.value.message, failed.value.cause) == (str(raised.value), raised.value.cause)
    for forged in ("wrap-around", ["not-defined"], {"key": 1}, None):   # not student.py's, or not even text
        with pytest.raises(Failed) as failed:
            data_of({"problem": "made up", "cause": forged})
        assert failed.value.cause == "unusable-definitions"
    in_source = {ast.literal_eval([*call.args, *(k.value for k in call.keywords)][1])
                 for path, call in _calls("Unusable") if path.name == "student.py"}
    assert given == in_source   # every problem student.py words was tried
