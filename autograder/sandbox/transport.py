"""The safe format of the sandbox's pipes: JSON lines, numpy arrays as base64 bytes with their dtype
and shape.

The worker process runs the student's code, so everything it sends is untrusted. The grader never
unpickles it: decode() accepts JSON only (objects, arrays, strings, numbers, true/false/null, NaN and
infinities), and turns {"$ndarray": {"dtype", "shape", "data"}} back into an array only for a fixed list
of numeric dtypes, with a shape that matches the byte count exactly. Anything else raises
TransportError, which the grader reports as the step's failure. The grader's requests use the same format.

What one message may make in the grader's memory is bounded before any Python object is built: at most
MAX_MESSAGE bytes, MAX_VALUES values (counted from its commas and brackets, an upper bound) and
MAX_DEPTH levels of nesting. A line of a few million empty objects would otherwise take the grader's
process past a gigabyte (Gradescope's default container has 768 MB).
"""

import base64
import binascii
import json
import math

import numpy as np

ARRAY_KEY = "$ndarray"
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128")
MAX_DIMS = 32
MAX_MESSAGE = 64 * 1024 * 1024  # bytes of one message: the largest probe sends ~2 MB
MAX_VALUES = 200_000   # values of one message (the checks' largest: ~20,000); each costs the grader ~100 bytes
MAX_DEPTH = 32         # levels of nesting (the checks' deepest: 6)


class TransportError(ValueError):
    """The data is not in the runner's format."""


# ---- the worker's side ------------------------------------------------------------------------------

def _plain(value):
    """value with arrays and numpy scalars made JSON-ready; TypeError for anything not plain data."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, np.ndarray):
        name = value.dtype.name
        if name not in DTYPES:
            raise TypeError(f"arrays of dtype {name} are not sent")
        little = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        return {ARRAY_KEY: {"dtype": name, "shape": list(value.shape),
                            "data": base64.b64encode(little.tobytes()).decode("ascii")}}
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dictionary keys must be strings, got {type(key).__name__}")
            if key == ARRAY_KEY:
                raise TypeError(f"the key {ARRAY_KEY!r} is reserved")
            out[key] = _plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    raise TypeError(f"a {type(value).__name__} is not plain data")


_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=True, separators=(",", ":"))


def encode(value) -> bytes:
    """One message: compact JSON on a single line, ending with a newline; ValueError past MAX_VALUES."""
    data = (_ENCODER.encode(_plain(value)) + "\n").encode("ascii")
    if _values(data) > MAX_VALUES:
        raise ValueError(f"over {MAX_VALUES} values in one message")
    return data


def _values(data: bytes) -> int:
    """At least the number of values in a JSON text (each value but a container's first follows a comma; each
    container opens with a bracket); commas inside strings only make it larger. Counted without parsing."""
    return data.count(b",") + data.count(b"[") + data.count(b"{") + 1


# ---- the grader's side ------------------------------------------------------------------------------

def _array(spec) -> np.ndarray:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise TransportError("an array must have exactly dtype, shape and data")
    name, shape, data = spec["dtype"], spec["shape"], spec["data"]
    if not isinstance(name, str) or name not in DTYPES:
        raise TransportError(f"arrays of dtype {name!r} are not accepted")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise TransportError(f"an array's shape must be a list of at most {MAX_DIMS} non-negative ints")
    if not isinstance(data, str):
        raise TransportError("an array's data must be a base64 string")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as error:
        raise TransportError(f"an array's data is not base64: {error}") from None
    dtype = np.dtype(name).newbyteorder("<")
    count = math.prod(shape)
    if count * dtype.itemsize != len(raw):
        raise TransportError(f"an array of shape {tuple(shape)} and dtype {name} needs "
                             f"{count * dtype.itemsize} bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=dtype).astype(np.dtype(name)).reshape(shape)


def _object(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise TransportError("an object repeats a key")
    if ARRAY_KEY in keys:
        if len(pairs) != 1:
            raise TransportError(f"{ARRAY_KEY!r} must be the only key of its object")
        return _array(pairs[0][1])
    return dict(pairs)


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def _int(text: str) -> int:
    if len(text) > 40:
        raise TransportError("an integer with more than 40 digits")
    return int(text)


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant, parse_int=_int)


def decode(line: bytes | str):
    """The value of one message. TransportError for anything that is not a message of this format, or
    that is larger than the bounds above (checked before it is parsed)."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogatepass")
    if len(line) > MAX_MESSAGE:
        raise TransportError(f"a message of {len(line)} bytes is over the limit of {MAX_MESSAGE}")
    if _values(line) > MAX_VALUES:
        raise TransportError(f"a message of over {MAX_VALUES} values")
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise TransportError("a message is not ASCII text") from None
    try:
        value = _DECODER.decode(text)
    except TransportError:
        raise
    except (ValueError, RecursionError, TypeError, KeyError, MemoryError) as error:
        raise TransportError(f"not a JSON message: {type(error).__name__}: {str(error)[:200]}") from None
    _shallow(value)
    return value


def _shallow(value) -> None:
    """TransportError if value nests deeper than MAX_DEPTH (looked at without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_DEPTH:
            raise TransportError(f"a message nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)
