"""Whether the student's code changed the sandbox itself: the operations, their helpers, the builtins they
rely on, or the libraries they compute with (torch, numpy).

The worker takes a snapshot before the first cell runs and compares it before and after every
operation; an operation run on a changed sandbox is not answered ({"tampered": what changed}), and
the grader scores that part 0. It is no proof (code in the same process can change and restore
things while an operation runs), but it turns the plain forgery, replacing an operation or a helper
from a cell, into a zero instead of points. The numbers the grader compares can't be forged this way
at all: they must be the right numbers.
"""

import builtins
import sys
import types

BUILTINS = ("isinstance", "issubclass", "getattr", "hasattr", "type", "len", "float", "int", "bool", "str", "list",
            "dict", "tuple", "range", "zip", "any", "all", "min", "max", "sum", "iter", "next", "enumerate", "callable")


_KEYS = "\0keys"  # an entry holding a class's attribute names: one added (shadowing a C method) is a change


def _entries(modules, libraries=()):
    for library in libraries:  # what the operations compute with (torch, numpy): nothing of it replaced
        for name, value in list(vars(library).items()):
            yield library, name, value
        if isinstance(library, type):  # (a module may gain attributes as torch loads its parts lazily)
            yield library, _KEYS, frozenset(vars(library))
    for module in [*modules, *(m for m in libraries if isinstance(m, types.ModuleType))]:
        yield sys.modules, module.__name__, module   # not swapped for a copy, for a later import to find
    for module in modules:
        for name, value in vars(module).items():
            yield module, name, value
            if isinstance(value, type) and getattr(value, "__module__", "") == module.__name__:
                for attribute, member in vars(value).items():
                    yield value, attribute, member
            if isinstance(value, dict) and name.isupper():  # a table of functions, e.g. OPERATIONS
                for key, member in value.items():
                    yield value, key, member
    for name in BUILTINS:
        yield builtins, name, getattr(builtins, name)


def _identity(value):
    if isinstance(value, types.FunctionType):
        return (value, value.__code__, value.__defaults__, value.__kwdefaults__)
    return (value,)


def snapshot(modules, libraries=()) -> tuple:
    """modules: the sandbox's own, with their functions' code; libraries: modules and classes whose every
    attribute must stay the object it is (torch, torch.Tensor, numpy, ...)."""
    return tuple((holder, name, (value,) if name == _KEYS else _identity(value))
                 for holder, name, value in _entries(modules, libraries))


def _interposed() -> str | None:
    """What would see or change every torch call or Python line of an operation: a torch function or dispatch
    mode entered, a trace or profile function set."""
    import torch
    from torch.utils._device import DeviceContext

    # (torch.set_default_device enters a DeviceContext of torch's own: honest code may call it)
    functions = [torch._C._get_function_stack_at(i) for i in range(torch._C._len_torch_function_stack())]
    if any(type(mode) is not DeviceContext for mode in functions) or torch._C._len_torch_dispatch_stack():
        return "a torch function mode (TorchFunctionMode or TorchDispatchMode) left active"
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return "a trace or profile function (sys.settrace, sys.setprofile) left set"
    return None


def changed(taken: list) -> str | None:
    """The first entry of the snapshot that is not as it was, named; None when all are."""
    interposed = _interposed()
    if interposed:
        return interposed
    for holder, name, identity in taken:
        if name == _KEYS:
            if frozenset(vars(holder)) != identity[0]:
                added = sorted(set(vars(holder)) - identity[0]) or sorted(identity[0] - set(vars(holder)))
                return f"{holder.__name__}.{added[0]} (added or removed)"
            continue
        try:  # (a class's own dictionary: getattr would make a new bound method each time)
            current = holder[name] if isinstance(holder, dict) else vars(holder)[name]
        except (KeyError, TypeError):
            return f"{getattr(holder, '__name__', 'a table')}.{name} (removed)"
        now = _identity(current)
        if len(now) != len(identity) or any(a is not b for a, b in zip(now, identity)):
            if holder is sys.modules:
                return f"sys.modules[{name!r}]"
            return f"{getattr(holder, '__name__', 'a table')}.{name}"
    return None
