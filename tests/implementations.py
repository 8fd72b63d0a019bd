"""Implementations of the lab's two tasks as students write them: correct ones in many styles, and buggy
ones, each named for its mistake, with the checks it must fail (and a phrase of the message that names
the mistake) and the checks it must still pass. Python source, exec'd into a namespace by the
in-process tests (test_checks.py) or pasted into a notebook's solution cells (submissions.py).
"""

import textwrap

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
            if torch.device(device).type == "cuda":
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


# ---- correct, in less common shapes (issue: honest work must get every point) ---------------------------------

FLOAT64_PARAMETER = IMPORTS + '''
class ConvolutionalFilter(nn.Module):
    def __init__(self, taps):
        super().__init__()
        self.taps = taps
        self.filter = nn.Parameter(torch.zeros(taps, dtype=torch.float64))   # the contract asks for no dtype

    def forward(self, x):
        n = x.shape[-1]
        size = 2 ** (n + self.taps - 2).bit_length()
        spectrum = torch.fft.rfft(x, size) * torch.fft.rfft(self.filter.to(x.dtype), size)
        return torch.fft.irfft(spectrum, size)[..., :n]
'''
TRAIN_PEEKS = TRAIN_ZERO_GRAD_FIRST.replace("    history = []\n", """\
    first_x, first_y = next(iter(train_loader))   # a look at one batch's shape before training
    print("batches of", tuple(first_x.shape))
    history = []
""")
TRAIN_TQDM_AUTO = TRAIN_ZERO_GRAD_FIRST.replace("    history = []\n", """\
    from tqdm.auto import tqdm
    history = []
""").replace("        for x, y in train_loader:\n", "        for x, y in tqdm(train_loader, desc=f'epoch {epoch}', leave=False):\n")
TRAIN_TQDM_TRANGE = TRAIN_ZERO_GRAD_FIRST.replace("    history = []\n", """\
    from tqdm import tqdm, trange
    history = []
""").replace("    for epoch in range(n_epochs):\n", "    for epoch in trange(n_epochs):\n").replace(
    "        for x, y in train_loader:\n", "        for x, y in tqdm(train_loader, total=len(train_loader)):\n")
TRAIN_LOGGING = IMPORTS + """
import logging
import sys

logging.basicConfig(stream=sys.stderr, level=logging.INFO)   # a handler bound at the cell's top level
log = logging.getLogger("lab2a")


def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    history = []
    for epoch in range(n_epochs):
        losses = []
        for batch_index, batch in enumerate(train_loader):
            x, y = batch[0].to(device), batch[1].to(device)
            optimizer.zero_grad()
            loss = loss_fn(estimator(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            print(f"batch {batch_index}: {loss.item():.4f}")
        history.append(sum(losses) / len(losses))
        log.info("epoch %d: %.4f", epoch, history[-1])
    return history
"""
MORE_CORRECT_TRAINS = {"peeks at a batch first": TRAIN_PEEKS, "tqdm.auto progress bars": TRAIN_TQDM_AUTO,
                       "tqdm trange": TRAIN_TQDM_TRANGE, "logging and prints": TRAIN_LOGGING}

# ---- wrong in ways the grader used to miss or misname -------------------------------------------------------

STATEFUL_FILTER = filter_source("torch.randn(taps)", """
n = x.shape[-1]
tail = getattr(self, "tail", None)
if tail is not None and tail.shape[:-1] == x.shape[:-1]:
    padded = torch.cat([tail, x], dim=-1)      # continues the previous call's signal
else:
    padded = F.pad(x, (self.taps - 1, 0))
self.tail = x[..., n - self.taps + 1:].detach() if self.taps > 1 else x[..., :0]
return padded.unfold(-1, self.taps, 1) @ self.filter.flip(0)
""")
FLIPS_ITS_TAPS = filter_source("torch.randn(taps)", """
with torch.no_grad():
    self.filter.copy_(self.filter.flip(0))     # flips the parameter itself, at every call
rows = F.pad(x.reshape(-1, 1, x.shape[-1]), (self.taps - 1, 0))
return F.conv1d(rows, self.filter.view(1, 1, -1)).reshape(x.shape)
""")
CRASHES_WHEN_TAPS_EXCEED_SAMPLES = filter_source("torch.randn(taps)", """
n = x.shape[-1]
y = torch.zeros_like(x)
for k in range(self.taps):
    y[..., k:] += self.filter[k] * x[..., :n - k]
return y
""")
JOINS_INNER_ROWS = filter_source("torch.randn(taps)", """
rows = x.reshape(x.shape[0], 1, -1) if x.dim() > 1 else x.reshape(1, 1, -1)   # (A, B, 1, N) -> (A, 1, B*N)
padded = F.pad(rows, (self.taps - 1, 0))
return F.conv1d(padded, self.filter.flip(0).view(1, 1, -1)).reshape(x.shape)
""")
TRAIN_ZEROES_BETWEEN = buggy_train(("            optimizer.zero_grad()\n", ""),
                                   ("            loss.backward()\n", "            loss.backward()\n"
                                                                    "            optimizer.zero_grad()\n"))

# ---- issue 18: properties the checks used to misjudge --------------------------------------------------------

# correct on a GPU: the computation goes by the CPU and the result comes back with .to(x.device)
CPU_DETOUR_MOVED_BACK = filter_source("torch.zeros(taps)", """
xc, h = x.cpu(), self.filter.cpu()
n = xc.shape[-1]
size = 2 ** (n + self.taps - 2).bit_length()
y = torch.fft.irfft(torch.fft.rfft(xc, size) * torch.fft.rfft(h.to(xc.dtype), size), size)[..., :n]
y = y.to(x.device)
return y
""")


def _writes_into_x_when(condition: str) -> str:
    """A right output, then x changed in place, on the inputs where `condition` holds only."""
    return filter_source("torch.zeros(taps)", FFT.replace("return torch.fft.irfft(spectrum, size)[..., :n]", f"""\
y = torch.fft.irfft(spectrum, size)[..., :n]
if {condition}:
    x.mul_(0.5)                                 # scales its input in place
return y"""))


WRITES_INTO_X_WHEN_2D = _writes_into_x_when("x.dim() == 2")
WRITES_INTO_X_WHEN_SHORT = _writes_into_x_when("x.shape[-1] < self.taps")


def _cpu_ones_when(condition: str) -> str:
    """A right output, multiplied by a window of ones made on the CPU, on the inputs where `condition` holds."""
    return filter_source("torch.zeros(taps)", FFT.replace("return torch.fft.irfft(spectrum, size)[..., :n]", f"""\
y = torch.fft.irfft(spectrum, size)[..., :n]
if {condition}:
    y = y * torch.ones(n)                       # on the CPU whatever x's device
return y"""))


CPU_TENSOR_WHEN_LOUD = _cpu_ones_when("x.abs().max() > 1")
CPU_TENSOR_WHEN_QUIET = _cpu_ones_when("x.abs().max() < 0.1")

# the batch copied without a device, in place of x.to(device)
_MOVE = "            x, y = x.to(device), y.to(device)\n"
TRAIN_TORCH_TENSOR = TRAIN_ZERO_GRAD_FIRST.replace(_MOVE, "            x, y = torch.tensor(x), torch.tensor(y)\n")
TRAIN_AS_TENSOR = TRAIN_ZERO_GRAD_FIRST.replace(_MOVE, "            x, y = torch.as_tensor(x), torch.as_tensor(y)\n")
TRAIN_NUMPY_ROUND_TRIP = TRAIN_ZERO_GRAD_FIRST.replace(
    _MOVE, "            x, y = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y))\n")
# ... and with the device: moved
TRAIN_TENSOR_ON_THE_DEVICE = TRAIN_ZERO_GRAD_FIRST.replace(
    _MOVE, "            x, y = torch.tensor(x, device=device), torch.as_tensor(y, device=device)\n")

# forward scales its input in place, then makes the worker's copy of the input agree (through the stack)
FORGES_AN_UNCHANGED_INPUT = filter_source("torch.zeros(taps)", FFT.replace(
    "return torch.fft.irfft(spectrum, size)[..., :n]", """\
y = torch.fft.irfft(spectrum, size)[..., :n]
x.mul_(0.5)
import sys
frame = sys._getframe(1)
while frame is not None:
    before = frame.f_locals.get("before")
    if isinstance(before, torch.Tensor) and before.shape == x.shape:
        before.copy_(x)                         # the worker's own reading now sees no change
    frame = frame.f_back
return y"""))
