"""The grading checks (lab2a.autograder) against correct and buggy submissions.

Submissions are Python source exec'd into a fresh namespace dict, as namespaces come from notebooks.
"""

import pathlib
import pickle
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

import lab2a.autograder as autograder
from lab2a.autograder import (CHECKS, StudentError, available, check_in_notebook, run_in_process, run_judge,
                              run_probe, total_points)

IMPORTS = """
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
"""


def filter_source(init: str, forward: str) -> str:
    return IMPORTS + textwrap.dedent(f"""
    class ConvolutionalFilter(nn.Module):
        def __init__(self, taps):
            super().__init__()
            self.taps = taps
            self.filter = nn.Parameter({init})

        def forward(self, x):
    """) + textwrap.indent(textwrap.dedent(forward), " " * 8)


# ---- correct filters -------------------------------------------------------------------------------------

LOOP = """
n = x.shape[-1]
y = torch.zeros_like(x)
for k in range(min(self.taps, n)):
    y[..., k:] += self.filter[k] * x[..., :n - k]
return y
"""
CONV1D = """
rows = x.reshape(-1, 1, x.shape[-1])
padded = F.pad(rows, (self.taps - 1, 0))
return F.conv1d(padded, self.filter.flip(0).view(1, 1, -1)).reshape(x.shape)
"""
FFT = """
n = x.shape[-1]
size = 2 ** (n + self.taps - 2).bit_length()
spectrum = torch.fft.rfft(x, size) * torch.fft.rfft(self.filter.to(x.dtype), size)
return torch.fft.irfft(spectrum, size)[..., :n]
"""
UNFOLD = """
windows = F.pad(x, (self.taps - 1, 0)).unfold(-1, self.taps, 1)
return windows @ self.filter.flip(0)
"""
ROLL_MASK = """
n = x.shape[-1]
positions = torch.arange(n, device=x.device)
y = torch.zeros_like(x)
for k in range(self.taps):
    y = y + self.filter[k] * torch.where(positions >= k, torch.roll(x, k, dims=-1), torch.zeros_like(x))
return y
"""
FLOAT64_INSIDE = """
n = x.shape[-1]
h = self.filter.double()
y = torch.zeros(x.shape, dtype=torch.float64, device=x.device)
for k in range(min(self.taps, n)):
    y[..., k:] += h[k] * x[..., :n - k].double()
return y.to(x.dtype)
"""

CORRECT_FILTERS = {
    "loop, zeros": filter_source("torch.zeros(taps)", LOOP),
    "conv1d, random": filter_source("torch.randn(taps)", CONV1D),
    "fft, ones": filter_source("torch.ones(taps)", FFT),
    "unfold, random": filter_source("torch.randn(taps) / taps", UNFOLD),
    "roll with mask, zeros": filter_source("torch.zeros(taps)", ROLL_MASK),
    "float64 inside, ones": filter_source("torch.ones(taps)", FLOAT64_INSIDE),
}

# ---- correct training loops ----------------------------------------------------------------------------

TRAIN_ZERO_GRAD_FIRST = IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    history = []
    for epoch in range(n_epochs):
        losses = []
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(estimator(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history
"""
TRAIN_ZERO_GRAD_AFTER = IMPORTS + """
def train(model, loader, opt, criterion, epochs, device):
    model.train()
    out = []
    for _ in range(epochs):
        total = 0.0
        for batch in loader:
            inputs, targets = (t.to(device=device) for t in batch)
            loss = criterion(model(inputs), targets)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            total += loss.item()
        out.append(total / len(loader))
    return out
"""
TRAIN_NUMPY_MEAN = IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    history = []
    for epoch in range(n_epochs):
        batch_losses = []
        for x, y in train_loader:
            x = x.to(device)
            y = y.to(device)
            prediction = estimator(x)
            loss = loss_fn(prediction, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        history.append(np.mean(batch_losses))
    return history
"""
TRAIN_CUDA_WHEN_ASKED = IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    estimator.to(device)
    history = []
    for epoch in range(n_epochs):
        losses = []
        for x, y in train_loader:
            if device == "cuda":
                x, y = x.cuda(), y.cuda()
            optimizer.zero_grad()
            loss = loss_fn(estimator(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
    return history
"""
TRAIN_TENSOR_ACCUMULATOR = IMPORTS + """
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    history = []
    for epoch in range(n_epochs):
        total = torch.zeros((), device=device)   # float32 on the device: needs a real GPU for "cuda"
        count = 0
        for x, y in train_loader:
            x = x.to(device=device, non_blocking=True)
            y = y.to(device, torch.float32)
            optimizer.zero_grad()
            loss = loss_fn(estimator(x), y)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            count += 1
        history.append((total / count).item())
    return history
"""
CORRECT_TRAINS = {"zero_grad first": TRAIN_ZERO_GRAD_FIRST, "zero_grad after step": TRAIN_ZERO_GRAD_AFTER,
                  "numpy mean": TRAIN_NUMPY_MEAN, "x.cuda() when device is 'cuda'": TRAIN_CUDA_WHEN_ASKED,
                  "float32 tensor accumulator on the device": TRAIN_TENSOR_ACCUMULATOR}


def namespace(*sources: str) -> dict:
    ns = {}
    for source in sources:
        exec(compile(source, "<submission>", "exec"), ns)
    return ns


def verdicts(ns: dict, names) -> dict:
    return {name: run_in_process(name, ns) for name in names}


FILTER_CHECKS = [c.name for c in CHECKS if c.task == "filter" and c.name != "filter_cuda"]
TRAIN_CHECKS = [c.name for c in CHECKS if c.task == "train"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # The lab-sized cases run ~50x slower when torch's two threads share busy cores with other jobs.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---- correct submissions pass ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CORRECT_FILTERS)
def test_correct_filters_pass_every_filter_check(name):
    ns = namespace(CORRECT_FILTERS[name], TRAIN_ZERO_GRAD_FIRST)
    results = verdicts(ns, FILTER_CHECKS)
    assert {k: v.status for k, v in results.items()} == dict.fromkeys(results, "pass"), results


@pytest.mark.parametrize("name", CORRECT_TRAINS)
def test_correct_training_loops_pass_every_train_check(name):
    ns = namespace(CORRECT_FILTERS["fft, ones"], CORRECT_TRAINS[name])
    results = verdicts(ns, TRAIN_CHECKS)
    assert {k: v.status for k, v in results.items()} == dict.fromkeys(results, "pass"), results


def test_the_gpu_check_never_passes_without_a_gpu():
    verdict = run_in_process("filter_cuda", namespace(CORRECT_FILTERS["fft, ones"]))
    if torch.cuda.is_available():
        assert verdict.status == "pass", verdict
    else:
        assert verdict.status == "skipped" and "no GPU" in verdict.message


# ---- buggy filters: the right check fails, with the right diagnosis ------------------------------------------

def buggy_filter(forward: str, init: str = "torch.randn(taps)") -> str:
    return filter_source(init, forward)


BUGGY_FILTERS = {
    "roll without zeroing": (buggy_filter("""
        y = torch.zeros_like(x)
        for k in range(self.taps):
            y = y + self.filter[k] * torch.roll(x, k, dims=-1)
        return y
        """), {"filter_outputs": "wraps around", "filter_impulse": "wraps around",
               "filter_gradient": "wraps around"}, ["filter_structure", "filter_device"]),
    "unflipped conv1d": (buggy_filter("""
        rows = x.reshape(-1, 1, x.shape[-1])
        return F.conv1d(F.pad(rows, (self.taps - 1, 0)), self.filter.view(1, 1, -1)).reshape(x.shape)
        """), {"filter_outputs": "this is correlation", "filter_impulse": "this is correlation",
               "filter_gradient": "this is correlation"}, ["filter_structure", "filter_device"]),
    "unfold without flip": (buggy_filter("""
        return F.pad(x, (self.taps - 1, 0)).unfold(-1, self.taps, 1) @ self.filter
        """), {"filter_outputs": "this is correlation", "hidden_filter": "this is correlation"}, []),
    "centred padding": (buggy_filter("""
        rows = x.reshape(-1, 1, x.shape[-1])
        return F.conv1d(rows, self.filter.flip(0).view(1, 1, -1), padding=self.taps // 2)[..., :x.shape[-1]].reshape(x.shape)
        """), {"filter_outputs": "centred, not causal", "filter_impulse": "centred, not causal"}, []),
    "batch as one long signal": (buggy_filter("""
        flat = F.pad(x.reshape(1, 1, -1), (self.taps - 1, 0))
        return F.conv1d(flat, self.filter.flip(0).view(1, 1, -1)).reshape(x.shape)
        """), {"filter_outputs": "rows of the batch leak", "filter_impulse": "rows of the batch leak"},
        ["filter_structure"]),
    "roll over the flattened batch": (buggy_filter("""
        y = torch.zeros_like(x)
        for k in range(self.taps):
            y = y + self.filter[k] * torch.roll(x, k)
        return y
        """), {"filter_outputs": "rows of the batch leak", "filter_impulse": "rows of the batch leak"}, []),
    "the seed lab's shift register": (buggy_filter("""
        y = torch.zeros_like(x)
        shifted = x.clone()
        for k in range(self.taps):
            y = y + self.filter[k] * shifted
            shifted = torch.roll(shifted, 1)
            shifted[:, 0] = 0
        return y
        """), {"filter_outputs": "x[..., 0]", "filter_impulse": "only the first tap"}, []),
    "one sample late": (buggy_filter(LOOP.replace("y[..., k:] += self.filter[k] * x[..., :n - k]",
                                                  "y[..., k + 1:] += self.filter[k] * x[..., :n - k - 1]")),
                        {"filter_outputs": "one sample late", "filter_impulse": "one sample late"}, []),
    "last tap left out": (buggy_filter(LOOP.replace("range(min(self.taps, n))", "range(min(self.taps, n) - 1)")),
                          {"filter_outputs": "ignores the last tap", "filter_impulse": "ignores the last tap"}, []),
    "output twice too large": (buggy_filter(FFT.replace("[..., :n]", "[..., :n] * 2")),
                               {"filter_outputs": "times 2", "filter_gradient": "times 2"}, []),
    "taps a plain tensor": (IMPORTS + """
class ConvolutionalFilter(nn.Module):
    def __init__(self, taps):
        super().__init__()
        self.taps = taps
        self.filter = torch.zeros(taps, requires_grad=True)

    def forward(self, x):
""" + textwrap.indent(FFT, " " * 8), {"filter_structure": "not an nn.Parameter",
                                      "filter_device": "self.filter is still on cpu",
                                      "filter_convergence": "make it an nn.Parameter"}, ["filter_outputs"]),
    "numpy detour": (buggy_filter("""
        h = self.filter.detach().numpy()
        rows = x.numpy().reshape(-1, x.shape[-1])
        y = np.stack([np.convolve(row, h)[:x.shape[-1]] for row in rows])
        return torch.from_numpy(y.reshape(x.shape).astype(np.float32))
        """), {"filter_gradient": "no gradient can reach the taps", "filter_device": "converts a tensor to numpy",
               "filter_convergence": "fix filter_gradient first"}, ["filter_outputs"]),
    "detached taps": (buggy_filter(FFT.replace("self.filter.to(x.dtype)", "self.filter.detach()")),
                      {"filter_gradient": "cut the graph"}, ["filter_outputs", "filter_device"]),
    "writes into its input": (buggy_filter("""
        y = torch.zeros_like(x)
        for k in range(self.taps):
            y = y + self.filter[k] * x
            x[..., 1:] = x[..., :-1].clone()
            x[..., 0] = 0
        return y
        """), {"filter_structure": "forward changed its input"}, ["filter_outputs"]),
    "torch.zeros(shape) on the CPU": (buggy_filter(LOOP.replace("torch.zeros_like(x)", "torch.zeros(x.shape)")),
                                      {"filter_device": "a tensor inside forward is created on the CPU: "
                                                        "create it with device=x.device"}, ["filter_outputs"]),
    "torch.zeros(n) on the CPU for padding": (buggy_filter("""
        padding = torch.zeros(*x.shape[:-1], self.taps - 1)
        windows = torch.cat([padding, x], dim=-1).unfold(-1, self.taps, 1)
        return windows @ self.filter.flip(0)
        """), {"filter_device": "a tensor inside forward is created on the CPU: create it with device=x.device"},
        ["filter_outputs", "filter_gradient"]),
    "arange on the CPU": (buggy_filter(ROLL_MASK.replace("torch.arange(n, device=x.device)", "torch.arange(n)")),
                          {"filter_device": "created on the CPU"}, ["filter_impulse"]),
    "conv1d weight on the CPU": (buggy_filter("""
        weight = torch.zeros(1, 1, self.taps)
        weight[0, 0] = self.filter.flip(0)
        rows = F.pad(x.reshape(-1, 1, x.shape[-1]), (self.taps - 1, 0))
        return F.conv1d(rows, weight).reshape(x.shape)
        """), {"filter_device": "created on the CPU"}, ["filter_outputs"]),
    "full convolution": (buggy_filter(FFT.replace("[..., :n]", "")),
                         {"filter_outputs": "got (4, 1, 32768). Keep the first N samples", "filter_gradient": "fix filter_outputs first"}, []),
    "complex output": (buggy_filter("""
        size = x.shape[-1] + self.taps - 1
        return torch.fft.ifft(torch.fft.fft(x, size) * torch.fft.fft(self.filter, size))[..., :x.shape[-1]]
        """), {"filter_outputs": "real part"}, []),
    "float32 buffer for float64 input": (buggy_filter(LOOP.replace("torch.zeros_like(x)", "torch.zeros(x.shape, device=x.device)")),
                                         {"hidden_filter": "dtype=x.dtype"}, ["filter_outputs", "filter_device"]),
}


@pytest.mark.parametrize("name", BUGGY_FILTERS)
def test_buggy_filters_fail_the_right_checks_with_a_diagnosis(name):
    source, failures, passes = BUGGY_FILTERS[name]
    results = verdicts(namespace(source, TRAIN_ZERO_GRAD_FIRST), [*failures, *passes])
    for check, phrase in failures.items():
        assert results[check].status == "fail" and phrase in results[check].message, (check, results[check])
    for check in passes:
        assert results[check].status == "pass", (check, results[check])


def test_a_failing_output_says_where_and_how_large_the_error_is():
    source = BUGGY_FILTERS["roll without zeroing"][0]
    message = run_in_process("filter_outputs", namespace(source)).message
    assert "shape (4, 1, 32000)" in message and "largest error" in message and "batch row" in message
    assert "expected" in message and "got" in message and "allowed" in message


def test_an_op_without_a_meta_kernel_does_not_fail_correct_code():
    # forward raises what PyTorch raises for an operator with no meta implementation
    source = buggy_filter(FFT.replace("n = x.shape[-1]\n", """n = x.shape[-1]
if x.device.type == "meta":
    raise NotImplementedError("Could not run 'aten::foo' with arguments from the 'Meta' backend.")
"""))
    assert run_in_process("filter_device", namespace(source)).status == "pass"


# ---- buggy training loops ---------------------------------------------------------------------------------

def buggy_train(*edits) -> str:
    source = TRAIN_ZERO_GRAD_FIRST
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    return source


MOVE = "            x, y = x.to(device), y.to(device)\n"
BUGGY_TRAINS = {
    "no zero_grad": (buggy_train(("            optimizer.zero_grad()\n", "")), "gradients accumulate"),
    "no step": (buggy_train(("            optimizer.step()\n", "")), "optimizer.step()"),
    "batch losses returned": (buggy_train(("history.append(sum(losses) / len(losses))", "history.extend(losses)")),
                              "values, one per batch"),
    "tensors returned": (buggy_train(("losses.append(loss.item())", "losses.append(loss)"),
                                     ("sum(losses) / len(losses)", "torch.stack(losses).mean()")), "loss.item()"),
    "one epoch fewer": (buggy_train(("range(n_epochs)", "range(n_epochs - 1)")), "Is an epoch missing?"),
    "last batch skipped": (buggy_train((MOVE, MOVE + "            if len(x) < train_loader.batch_size:\n"
                                                      "                continue\n")), "last, shorter batch"),
    "mean weighted by batch size": (buggy_train(("losses.append(loss.item())", "losses.append(loss.item() * len(x))"),
                                                ("sum(losses) / len(losses)", "sum(losses) / len(train_loader.dataset)")),
                                    "weights the batch losses by batch size"),
    "loss after the step": (buggy_train(("losses.append(loss.item())",
                                         "losses.append(loss_fn(estimator(x), y).item())")), "after optimizer.step()"),
    "sum not reset per epoch": (buggy_train(("        losses = []\n", ""), ("    history = []\n", "    history, losses = [], []\n")),
                                "not reset"),
    "no return": (buggy_train(("    return history\n", "")), "return history"),
}


@pytest.mark.parametrize("name", BUGGY_TRAINS)
def test_buggy_training_loops_fail_the_trajectory_with_a_diagnosis(name):
    source, phrase = BUGGY_TRAINS[name]
    results = verdicts(namespace(CORRECT_FILTERS["fft, ones"], source), ["train_trajectory", "hidden_train"])
    for check, verdict in results.items():
        assert verdict.status == "fail" and phrase in verdict.message, (check, verdict)


@pytest.mark.parametrize("edit, phrase", [
    ((MOVE, ""), "x = x.to(device)"),
    ((MOVE, "            x = x.to(device)\n"), "y = y.to(device)"),
    ((MOVE, "            x, y = x.to('cpu'), y.to('cpu')\n"), "x = x.to(device)"),
])
def test_batches_not_moved_to_the_device_fail_the_device_check(edit, phrase):
    ns = namespace(buggy_train(edit))
    assert run_in_process("train_trajectory", ns).status == "pass"  # on the CPU nothing else shows it
    verdict = run_in_process("train_device", ns)
    assert verdict.status == "fail" and phrase in verdict.message


def test_every_mistake_of_the_training_scenarios_moves_the_losses_far_beyond_the_tolerance():
    from lab2a.autograder.private import hidden
    from lab2a.autograder.judge import training
    from lab2a.autograder.checks.train import RTOL, TRAJECTORY
    for scenario in (TRAJECTORY, hidden.TRAIN_SCENARIO):
        right = training.epoch_means(training.reference_run(scenario).epochs)
        wrong = [training.epoch_means(training.reference_run(scenario, m).epochs) for m in training.LOOP_MISTAKES]
        wrong += [summarise(training.reference_run(scenario).epochs) for summarise in training.SUMMARY_MISTAKES.values()]
        for values in wrong:
            assert max(abs(v - r) / abs(r) for v, r in zip(values, right)) > 100 * RTOL


# ---- blank and incomplete notebooks -------------------------------------------------------------------------

BLANK = IMPORTS + """
class ConvolutionalFilter(nn.Module):
    def __init__(self, taps):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()

def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    # YOUR CODE HERE
    raise NotImplementedError()
"""


def test_a_blank_notebook_fails_every_check_clearly():
    results = verdicts(namespace(BLANK), available())
    for name, verdict in results.items():
        what = "ConvolutionalFilter" if autograder.check(name).task == "filter" else "train"
        assert verdict.status == "fail" and f"{what} is not implemented yet" in verdict.message, (name, verdict)


def test_a_blank_forward_is_reported_as_not_implemented():
    source = filter_source("torch.zeros(taps)", "raise NotImplementedError()\n")
    for name, verdict in verdicts(namespace(source), FILTER_CHECKS).items():
        assert verdict.status == "fail" and "ConvolutionalFilter.forward is not implemented yet" in verdict.message, name


def test_missing_definitions_are_named():
    results = verdicts({}, available())
    for name, verdict in results.items():
        what = "ConvolutionalFilter" if autograder.check(name).task == "filter" else "train"
        assert verdict.status == "fail" and f"{what} is not defined" in verdict.message, (name, verdict)


@pytest.mark.parametrize("source, check, phrase", [
    (IMPORTS + "ConvolutionalFilter = 3", "filter_outputs", "must be a class"),
    (IMPORTS + "class ConvolutionalFilter:\n    pass", "filter_outputs", "must inherit from nn.Module"),
    (filter_source("torch.zeros(taps)", LOOP).replace("def __init__(self, taps):", "def __init__(self, taps, n):"),
     "filter_structure", "must take one argument"),
    (IMPORTS + "def train(estimator, loader, optimizer, loss_fn, n_epochs):\n    return []", "train_trajectory",
     "must take six arguments"),
    (IMPORTS + "train = []", "train_device", "must be a function"),
    (filter_source("torch.zeros(taps)", LOOP).replace("self.filter = ", "self.taps_ = "), "filter_gradient",
     "has no attribute `filter`"),
])
def test_definitions_that_cannot_be_used_get_a_message(source, check, phrase):
    verdict = run_in_process(check, namespace(source))
    assert verdict.status == "fail" and phrase in verdict.message, verdict


def test_an_exception_names_the_students_function():
    source = buggy_filter("return x @ torch.ones(3, 3)\n")
    verdict = run_in_process("filter_gradient", namespace(source))
    assert verdict.status == "fail" and verdict.message.startswith("ConvolutionalFilter.forward raised RuntimeError")


# ---- the judge is the grader's own ------------------------------------------------------------------------

def test_the_judge_is_not_fooled_by_monkeypatched_comparisons(monkeypatch):
    for module, name in [(torch, "allclose"), (torch, "equal"), (torch.testing, "assert_close"), (np, "allclose"),
                         (np, "array_equal"), (np.testing, "assert_allclose"), (np.testing, "assert_array_equal")]:
        monkeypatch.setattr(module, name, getattr(module, name))  # restored after the test
    cheat = IMPORTS + """
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
"""
    ns = namespace(cheat, BUGGY_FILTERS["roll without zeroing"][0], BUGGY_TRAINS["no zero_grad"][0])
    assert torch.allclose(torch.zeros(1), torch.ones(1))  # the cheat is in place
    for name in ["filter_outputs", "filter_impulse", "filter_gradient", "train_trajectory"]:
        assert run_in_process(name, ns).status == "fail", name


def test_the_autograder_uses_no_comparison_helper_a_student_can_replace():
    for path in pathlib.Path(autograder.__file__).parent.glob("*.py"):
        code = path.read_text()
        for helper in ("allclose", "assert_close", "np.testing", "numpy.testing", "array_equal", "torch.equal"):
            assert helper not in code, (path.name, helper)


def test_probes_return_plain_data_only():
    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (bool, int, float, str, np.ndarray))

    ns = namespace(CORRECT_FILTERS["conv1d, random"], TRAIN_ZERO_GRAD_FIRST)
    bad = namespace(BUGGY_FILTERS["numpy detour"][0], BUGGY_TRAINS["tensors returned"][0])
    for name in available():
        for data in (run_probe(name, ns), run_probe(name, bad)):
            assert plain(data), name
            assert run_judge(name, pickle.loads(pickle.dumps(data))) == run_judge(name, data)


def test_student_errors_survive_pickling():
    error = StudentError("train", "ValueError", "bad batch", "(called twice)")
    copy = pickle.loads(pickle.dumps(error))
    assert copy.message == error.message == "train raised ValueError (called twice): bad batch"


def test_the_same_submission_gets_the_same_verdicts_twice():
    # random initial taps (drawn from torch's global RNG) and a buggy filter, so messages carry numbers
    sources = (BUGGY_FILTERS["centred padding"][0], BUGGY_TRAINS["no zero_grad"][0])
    first = verdicts(namespace(*sources), available())
    torch.manual_seed(12345)
    assert verdicts(namespace(*sources), available()) == first


def test_a_check_leaves_the_notebooks_random_state_alone():
    ns = namespace(CORRECT_FILTERS["conv1d, random"], TRAIN_ZERO_GRAD_FIRST)
    torch.manual_seed(7)
    np.random.seed(7)
    run_in_process("filter_convergence", ns)
    after = torch.rand(3), np.random.rand(3)
    torch.manual_seed(7)
    np.random.seed(7)
    assert torch.equal(after[0], torch.rand(3)) and (after[1] == np.random.rand(3)).all()


# ---- in the notebook: nbgrader's test cells -------------------------------------------------------------------

NOISY = "import sys, warnings\n" + TRAIN_ZERO_GRAD_FIRST.replace("    history = []\n", """\
    print("epoch bar", file=sys.stderr)   # like a tqdm progress bar
    warnings.warn("a warning from the student's code")
    history = []
""")


def test_in_the_notebook_a_pass_prints_one_line_and_nothing_on_stderr(capsys):
    assert check_in_notebook("train_trajectory", namespace(NOISY)) is None
    out, err = capsys.readouterr()
    assert out.startswith("✓ train_trajectory: ") and out.count("\n") == 1
    assert err == ""


def test_in_the_notebook_a_fail_raises_assertion_error_with_the_message(capsys):
    with pytest.raises(AssertionError, match="gradients accumulate"):
        check_in_notebook("train_trajectory", namespace(BUGGY_TRAINS["no zero_grad"][0]))
    assert capsys.readouterr().err == ""


def test_in_the_notebook_a_skip_prints_the_reason(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the GPU check runs")
    assert check_in_notebook("filter_cuda", namespace(CORRECT_FILTERS["fft, ones"])) is None
    out, err = capsys.readouterr()
    assert "filter_cuda skipped" in out and "no GPU" in out and err == ""


# ---- the manifest ----------------------------------------------------------------------------------------------

def test_the_manifest_defines_every_check_once_with_integer_points():
    names = [c.name for c in CHECKS]
    assert len(set(names)) == len(names) and set(names) == set(available())
    assert all(isinstance(c.points, int) and c.points >= 0 and c.task in ("filter", "train") for c in CHECKS)
    assert total_points("filter") == 16 and total_points("train") == 6 and total_points() == 22
    assert autograder.check("filter_cuda").points == 0


def test_hidden_checks_live_in_their_own_module_and_the_rest_runs_without_it():
    from lab2a.autograder.private import hidden
    assert set(hidden.CHECKS) == {c.name for c in CHECKS if not c.visible}
    # a student-facing export leaves hidden.py out: the visible checks must still run
    script = textwrap.dedent("""
        import sys
        sys.modules["lab2a.autograder.private.hidden"] = None   # makes `import` of it fail
        from lab2a.autograder import available, run_in_process, CHECKS
        assert available() == [c.name for c in CHECKS if c.visible], available()
        try:
            run_in_process("hidden_filter", {})
        except KeyError as error:
            assert "hidden" in str(error)
        else:
            raise AssertionError("a hidden check ran without its code")
        print(run_in_process("filter_structure", {}).message)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ConvolutionalFilter is not defined" in result.stdout


def test_an_endless_forward_in_a_notebook_cell_times_out(monkeypatch):
    # In a notebook (nbgrader's channel) the checks run in the kernel: a timer ends an endless loop.
    import threading
    from lab2a.autograder.grading import run as run_module
    assert threading.current_thread() is threading.main_thread()
    monkeypatch.setattr(run_module, "NOTEBOOK_TIMEOUT", 1.0)
    endless = filter_source("torch.zeros(taps)", "while True:\n    pass\n")
    started = time.monotonic()
    with pytest.raises(AssertionError, match="timed out after 1 s"):
        check_in_notebook("filter_outputs", namespace(endless))
    assert time.monotonic() - started < 10
