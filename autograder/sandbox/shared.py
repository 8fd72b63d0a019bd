"""Memory the grader maps itself and shares with one worker: the inputs x and the taps the grader hands the
student's forward live there, and the grader reads them back after the call. So "forward left its input
and its taps unchanged" is the grader's own reading of that memory, not a number the student's process
computed and sent (which a rewritten frame or a patched helper could forge).

The grader's side (Region, exchange): a memfd (or an unlinked file) per worker, mapped here; its
descriptor goes to the fork server with the worker's pipes (grading/worker_process.py, sandbox/zygote.py),
which maps it in the new worker before anything else runs there (attach) and closes the descriptor. A hidden
check's worker has a region of its own, thrown away with it. For filter_calls on the CPU, exchange()
writes each call's x and the taps (in float32 and float64: the worker uses the one of the module's dtype)
into the region, sends their places instead of the numbers, and after the answer replaces the answer's
`input_change` and `taps_after` by what it reads there. The worker's own reading is kept only where it
says more changed (a parameter rebound with `self.filter.data = ...` leaves the region as it was): it can
cost the student points, never win them.

The worker's side (tensor): a tensor over the region, built by sandbox/filter_ops.py. Plain data otherwise:
places are JSON numbers, nothing is pickled.
"""

import mmap
import os
import tempfile

import numpy as np

SIZE = 16 << 20   # bytes: the largest filter_calls the checks make needs ~1.1 MB; sparse until written
_ALIGN = 64
SHARED_OPERATIONS = ("filter_calls",)

_mapped = None    # this process's mapping (the worker's, or the in-process checks'), for tensor()


# ---- the grader's side --------------------------------------------------------------------------------

def _descriptor(size: int) -> int:
    """An anonymous file of `size` bytes that only this process and those it hands the descriptor to can map."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("lab2a-shared", getattr(os, "MFD_CLOEXEC", 0))
    else:  # not Linux: a file removed at once from a folder of this process's own
        fd, path = tempfile.mkstemp(prefix="lab2a-shared-")
        os.unlink(path)
    os.ftruncate(fd, size)
    return fd


class Region:
    """One worker's shared memory, as the grader maps it. fd: for the worker (the grader may close it once
    the worker has it); buffer: the grader's mapping."""

    def __init__(self, size: int = SIZE, anonymous: bool = False):
        self.size = size
        if anonymous:  # the in-process checks: one process, no descriptor to pass
            self.fd, self.buffer = None, mmap.mmap(-1, size)
        else:
            self.fd = _descriptor(size)
            self.buffer = mmap.mmap(self.fd, size)

    def release_fd(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def close(self) -> None:
        self.release_fd()
        try:
            self.buffer.close()
        except (BufferError, ValueError):
            pass  # an array still views it (a judge's reading): the mapping goes with the last one

    def _write(self, offset: int, array: np.ndarray) -> dict:
        data = np.ascontiguousarray(array)
        self.buffer[offset:offset + data.nbytes] = data.tobytes()
        return {"offset": offset, "dtype": data.dtype.name, "shape": list(data.shape)}

    def read(self, place: dict) -> np.ndarray:
        """A copy of what the region holds at a place this side wrote."""
        dtype = np.dtype(place["dtype"])
        count = int(np.prod(place["shape"], dtype=np.int64))
        raw = self.buffer[place["offset"]:place["offset"] + count * dtype.itemsize]
        return np.frombuffer(raw, dtype).reshape(place["shape"]).copy()


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def place_calls(region: Region, args: dict):
    """filter_calls' arguments with each call's x and the taps written into the region, and what was
    written where (for read_back); (args, None) unchanged when the call is not shared (another device, a
    dtype numpy can't hold, or more than the region holds)."""
    calls, h = args.get("calls"), args.get("h")
    if args.get("device", "cpu") != "cpu" or not isinstance(calls, list) or not isinstance(h, np.ndarray):
        return args, None
    xs = [spec.get("x") if isinstance(spec, dict) else None for spec in calls]
    if not all(isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64) for x in xs):
        return args, None
    taps = [h.astype(np.float32), h.astype(np.float64)]
    need = sum(_aligned(x.nbytes) + sum(_aligned(t.nbytes) for t in taps) for x in xs)
    if need > region.size:
        return args, None
    offset, shared, written = 0, [], []
    for spec, x in zip(calls, xs):
        places = {}
        for name, array in (("x", x), ("float32", taps[0]), ("float64", taps[1])):
            places[name] = region._write(offset, array)
            offset += _aligned(array.nbytes)
        shared.append({**{k: v for k, v in spec.items() if k != "x"}, "shared": places})
        written.append({"x": x, "places": places})
    return {**args, "calls": shared}, {"written": written, "h": h.astype(np.float64)}


def _difference(before: np.ndarray, after: np.ndarray) -> float:
    """How far the values moved: 0 if the bytes are the same, inf where one became NaN."""
    if before.tobytes() == after.tobytes():
        return 0.0
    moved = np.abs(after.astype(np.float64) - before.astype(np.float64))
    return float(np.max(np.nan_to_num(moved, nan=np.inf))) if moved.size else 0.0


def _claimed(value) -> float:
    """A change the worker reports, as a number ≥ 0 (anything else: none claimed)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not value < 0:
        return float(value)
    return 0.0


def read_back(region: Region, layout: dict, answer: dict) -> dict:
    """The answer with each call's input_change and taps_after read from the region."""
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("calls"), list):
        return answer
    for item, written in zip(data["calls"], layout["written"]):
        if not isinstance(item, dict) or ("output" not in item and "error" in item):
            continue  # forward raised: nothing to judge for this call
        places = written["places"]
        region_change = _difference(written["x"], region.read(places["x"]))
        item["input_change"] = max(region_change, _claimed(item.get("input_change")))
        for name in ("float32", "float64"):
            now = region.read(places[name])
            if _difference(layout["h"].astype(name), now):
                item["taps_after"] = now.astype(np.float64)
                break
        else:
            if "taps_after" not in item:
                item["taps_after"] = layout["h"]
    return answer


def exchange(region: Region | None, operation: str, args: dict, send) -> dict:
    """send(operation, args) -> answer, with the inputs of a shared operation placed in the region and
    read back from it."""
    if region is None or operation not in SHARED_OPERATIONS:
        return send(operation, args)
    sent, layout = place_calls(region, args)
    answer = send(operation, sent)
    return answer if layout is None else read_back(region, layout, answer)


_local = None


def local_region() -> Region:
    """The in-process checks' region (check_in_notebook, the tests): one anonymous mapping, also this
    process's for tensor()."""
    global _local, _mapped
    if _local is None:
        _local = Region(anonymous=True)
    _mapped = _local.buffer
    return _local


# ---- the worker's side --------------------------------------------------------------------------------

def attach(fd: int) -> None:
    """Map the region the grader sent (before the student's code runs) and close its descriptor."""
    global _mapped
    try:
        _mapped = mmap.mmap(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def tensor(place: dict):
    """A tensor over the region at a place the grader wrote: writing into it writes into the region."""
    import torch

    if _mapped is None:
        raise RuntimeError("the grader's shared memory is not mapped in this process")
    dtype = getattr(torch, place["dtype"])
    shape = tuple(int(n) for n in place["shape"])
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(_mapped, dtype=dtype, count=count, offset=int(place["offset"])).reshape(shape)
