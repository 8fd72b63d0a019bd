"""What a hidden check may quote of the sandbox's answers: words from fixed lists, never text the student's
code could have made from the hidden inputs.

During a hidden check the student's code holds the hidden inputs, and every string of the sandbox's answer
comes from a process it runs in: an exception's message, its type's name (a class made at run time, as
type(f"Bad{x.shape}", (Exception,), {}), names whatever it likes), the text given to sys.exit, the name
of the type it returned, an attribute it added to a watched module, an exit code or a signal. So a
hidden check's answer is vetted before any judge reads it: each string is kept only when it is one of
the words below (builtin and torch exception names, plain type names, dtypes, devices, the sandbox's
names for the student's functions), and is otherwise replaced by a fixed word that names the kind of
failure only. Numbers pass: a hidden check compares them, and its messages show expected and got values.
"""

import builtins
import importlib
import re

from lab2a.autograder.sandbox import scenario, student
from lab2a.autograder.sandbox.student import FILTER, TRAIN

# exceptions Python itself defines, and those of torch and numpy a filter or a training loop raises
EXCEPTIONS = frozenset(
    {name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)}
    | {"OutOfMemoryError", "LinAlgError", "AxisError", "DeferredCudaCallError", "UnsupportedNodeError",
       "TorchRuntimeError", "Unsupported", "InternalTorchDynamoError"})
TYPES = frozenset({"Tensor", "Parameter", "ndarray", "list", "tuple", "dict", "set", "str", "bytes", "int", "float",
                   "complex", "bool", "NoneType", "generator", "map", "zip", "range", "float16", "float32", "float64",
                   "int8", "int16", "int32", "int64", "uint8", "bool_", "Module", "Sequential", "function",
                   "method", "builtin_function_or_method", "type", "ConvolutionalFilter"})
DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "complex32", "complex64", "complex128", "int8",
                    "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "quint8", "qint8",
                    "qint32", "float8_e4m3fn", "float8_e5m2"})
DEVICE = re.compile(r"(cpu|meta|mps|cuda|xpu)(:\d{1,2})?")
WHERE = frozenset({FILTER, f"{FILTER}.forward", f"{FILTER}.to", TRAIN,
                   f"the backward pass through {FILTER}.forward"})
EVENTS = re.compile(f"[{''.join(scenario.EVENTS)}]*")   # the letters scenario.Recorder writes


def _fixed_problems() -> frozenset:
    """The sandbox's problems that quote nothing of the student's (a definition missing, not an nn.Module, no
    `filter`), as student.py words them."""
    from torch import nn

    said = set()
    for attempt in (lambda: student.filter_class({}), lambda: student.train_function({}),
                    lambda: student.filter_class({FILTER: type(FILTER, (), {})}),
                    lambda: student.taps_tensor(nn.Module(), 1)):
        try:
            attempt()
        except student.Unusable as problem:
            said.add(str(problem))
    return frozenset(said)


PROBLEMS = _fixed_problems()
# self.filter of the wrong size: numbers only
WRONG_SIZE = re.compile(rf"{FILTER}\(\d+\)\.filter has \d+ numbers \(shape \([\d, ]*\)\); expected \d+, one per tap, "
                        rf"shape \(\d+,\)\.")

# a change of the sandbox named by the worker's integrity check: a function or table of the sandbox's own
# modules that exists in the grader's copy of them (an attribute the student's code added is not named)
INTERPOSED = ("a torch function mode (TorchFunctionMode or TorchDispatchMode) left active",
              "a trace or profile function (sys.settrace, sys.setprofile) left set")   # integrity._interposed's
SANDBOX_MODULES = ("ops", "filter_ops", "train_ops", "devices", "student", "scenario", "transport", "integrity",
                   "prelude", "confine", "worker")
SANDBOX_NAME = re.compile(rf"lab2a\.autograder\.sandbox\.({'|'.join(SANDBOX_MODULES)})\.(\w{{1,60}})( \(removed\))?")


def _names_the_sandbox(text: str) -> bool:
    match = SANDBOX_NAME.fullmatch(text)
    if not match:
        return text in INTERPOSED
    return hasattr(importlib.import_module(f"lab2a.autograder.sandbox.{match[1]}"), match[2])


NOT_SHOWN = "(its message is not shown for a hidden check)"
# key: (what the string may be, what replaces it otherwise)
RULES = {
    "kind": (EXCEPTIONS.__contains__, "an exception"),
    "text": (lambda text: False, NOT_SHOWN),
    "detail": (lambda text: False, ""),
    "where": (WHERE.__contains__, "your code"),
    "type": (TYPES.__contains__, "value of a class of its own"),
    "item_types": (TYPES.__contains__, "values of a class of their own"),
    "dtype": (DTYPES.__contains__, "dtype of its own"),
    "device": (DEVICE.fullmatch, "device of its own"),
    "events": (EVENTS.fullmatch, ""),
    "exit": (lambda text: False, "sys.exit(...)"),
    "problem": (lambda text: text in PROBLEMS or WRONG_SIZE.fullmatch(text),
                "your definitions can't be used as the lab defines them (the visible checks say why)"),
    "cause": (student.UNUSABLE_CAUSES.__contains__, "unusable-definitions"),
    "unsendable": (lambda text: False, "it could not be sent (the visible checks say why)"),
    "tampered": (_names_the_sandbox, "lab2a's sandbox or a library it watches"),
}
OTHER = (lambda text: False, "(not shown for a hidden check)")


def vetted(answer, key: str = ""):
    """A copy of a sandbox answer (JSON-like data) whose strings are those RULES allow, or their stand-ins."""
    if isinstance(answer, str):
        allowed, otherwise = RULES.get(key, OTHER)
        return answer if allowed(answer) else otherwise
    if isinstance(answer, dict):
        return {name: vetted(value, name) for name, value in answer.items()}
    if isinstance(answer, list):
        return [vetted(item, key) for item in answer]
    return answer


# StepFailed.kind -> what a hidden check says: an exit code, a signal or the place of a malformed byte the
# student's code chose could carry a few bits of the hidden inputs each
STEPS = {
    "ended": "the Python process running your code ended during this hidden check (os._exit, sys.exit from a "
             "thread, a crash or a signal)",
    "protocol": "the grader could not read what the Python process running your code sent during this hidden check",
}
