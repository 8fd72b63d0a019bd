"""Catalogue entries: code that reaches into the interpreter (gc, frames, ctypes, torch.library, global hooks,
signal handlers, finalizers, builtins) to claim a property it does not have.

Each pairs honest code that fails a property (forward writes into its input, or pins itself to the CPU; train
moves no batch) with one route of issue 18's finding 3. A closed route earns no more than the honest code: the
worker refuses to answer once it sees the change (a zero for what comes after), or puts things back (the
honest points). A route that can't be closed (UNCLOSED) claims the points autograder/README.md names, and
the report's review names its code for the TA (tests/test_reaching.py asserts both).
"""

from pathlib import Path

from .. import implementations as I
from ..submissions import Submission, _nb, add_cells_after, points

WRITES_INTO_INPUT = I.BUGGY_FILTERS["writes into its input"][0]
PINNED_TO_CPU = I.BUGGY_FILTERS["torch.zeros(shape) on the CPU"][0]
TRAIN_NOT_MOVING = I.TRAIN_ZERO_GRAD_FIRST.replace("            x, y = x.to(device), y.to(device)\n", "")

# (a) the worker's Channel found through the garbage collector, its encode wrapped to say the meta run passed
GC_CHANNEL = '''
import gc


def _forge(encode):
    def forged(message):
        data = message.get("data")
        if isinstance(data, dict) and "mixes" in data:
            data.pop("error", None)
            data.update(mixes=[], asks_is_meta=False, plain_tensors=[], output={
                "tensor": True, "type": "Tensor", "shape": [4, 1, 1000], "dtype": "float32", "device": "meta"})
        return encode(message)
    return forged


# (an assignment: only definitions run while grading)
_FORGED = [setattr(obj, "encode", _forge(obj.encode)) for obj in gc.get_objects()
           if type(obj).__name__ == "Channel" and hasattr(obj, "encode")]
'''
# (b) a builtin the old list did not watch (super, which the device check's tensors call), replaced
SUPER_REPLACED = TRAIN_NOT_MOVING + '''
import builtins
_super = builtins.super


def _quiet_super(*args):
    return _super(*args)


builtins.super = _quiet_super
'''
# (c) train walks up the stack to the device check's frame and says every batch was moved (UNCLOSED)
FRAME_WALK = TRAIN_NOT_MOVING.replace("    return history\n", '''    import sys
    frame = sys._getframe(1)
    while frame is not None:
        for noted in frame.f_locals.values():
            if isinstance(getattr(noted, "unmoved", None), list):
                noted.unmoved[:] = [False] * len(noted.unmoved)
        frame = frame.f_back
    return history
''')
# (d) torch.equal's CPU kernel replaced through torch.library, so the input looks unchanged
LIBRARY_EQUAL = '''
from torch.library import Library

_LIB = Library("aten", "IMPL")
_IMPL = _LIB.impl("equal", lambda a, b: True, "CPU")
'''
# (e) a global forward hook that hands back a meta output of the right shape
GLOBAL_HOOK = '''
from torch.nn.modules.module import register_module_forward_hook


def _on_meta(module, inputs, output):
    x = inputs[0] if inputs else None
    if isinstance(x, torch.Tensor) and x.device.type == "meta":
        return torch.empty_like(x)
    return output


_HOOK = register_module_forward_hook(_on_meta)
'''
# (f) a patch of torch.equal that a timer signal's handler would put back, and a finalizer that would too
SIGNAL_REPAIR = '''
import signal
import weakref

_equal = torch.equal


class _Token:
    pass


def _restore(*args):
    torch.equal = _equal


_TOKEN = _Token()
_FINAL = weakref.finalize(_TOKEN, _restore)
_HANDLER = signal.signal(signal.SIGALRM, _restore)
_TIMER = signal.setitimer(signal.ITIMER_REAL, 30.0)
torch.equal = lambda a, b: True
del _TOKEN
'''
# (g) a CPU-pinned forward that answers the meta device apart by its name: the simulated GPU (real data, tagged
# 'cuda') that follows the meta run catches it
META_BY_NAME = PINNED_TO_CPU.replace("    def forward(self, x):\n", '''    def forward(self, x):
        if x.device.type == "meta":
            return torch.empty_like(x)
''')

# entry -> (the check whose points it claims, how many): its expected points include them
UNCLOSED = {"frame_walk_says_batches_moved": ("train_device", 1)}


def entries(escaped: Path, port: int, victim: Path) -> dict:
    return {
        "gc_finds_the_channel": Submission(
            "a CPU-pinned forward; a cell finds the worker's Channel through gc and forges the meta run's answer",
            _nb(TRAIN_NOT_MOVING, PINNED_TO_CPU, add_cells_after("convolutional_filter", GC_CHANNEL)),
            points("none", train_device=0)),
        "replaces_builtin_super": Submission(
            "train moves no batch; builtins.super replaced (a builtin the old watch list left out)",
            _nb(SUPER_REPLACED, I.CORRECT_FILTERS["fft, ones"]), points("none", "none")),
        "frame_walk_says_batches_moved": Submission(
            "UNCLOSED: train moves no batch, then walks up the stack and clears the device check's notes",
            _nb(FRAME_WALK, I.CORRECT_FILTERS["fft, ones"])),
        "torch_library_equal": Submission(
            "forward writes into its input; torch.equal's CPU kernel replaced through torch.library",
            _nb(I.TRAIN_ZERO_GRAD_FIRST, WRITES_INTO_INPUT, add_cells_after("convolutional_filter", LIBRARY_EQUAL)),
            # the kernel is seen around filter_meta (the device part: the one answer a kernel could forge); the
            # attributes (Python's) and the numbers stay the honest code's
            points("none", filter_structure=1, filter_outputs=4, filter_impulse=2, hidden_filter=2)),
        "global_forward_hook": Submission(
            "a CPU-pinned forward; a global module forward hook answers the meta device",
            _nb(I.TRAIN_ZERO_GRAD_FIRST, PINNED_TO_CPU, add_cells_after("convolutional_filter", GLOBAL_HOOK)),
            points("none")),
        "patch_repaired_by_signal_or_finalizer": Submission(
            "forward writes into its input; torch.equal patched, with a timer signal and a finalizer to put it back",
            _nb(I.TRAIN_ZERO_GRAD_FIRST, WRITES_INTO_INPUT, add_cells_after("convolutional_filter", SIGNAL_REPAIR)),
            points("none")),
        "meta_device_told_apart_by_name": Submission(
            "a CPU-pinned forward that returns an empty meta tensor when x.device.type is 'meta'",
            _nb(I.TRAIN_ZERO_GRAD_FIRST, META_BY_NAME), points(filter_device=0, hidden_filter=1)),
    }
