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
import types

BUILTINS = ("isinstance", "issubclass", "getattr", "hasattr", "type", "len", "float", "int", "bool", "str", "list",
            "dict", "tuple", "range", "zip", "any", "all", "min", "max", "sum", "iter", "next", "enumerate", "callable")


def _entries(modules, libraries=()):
    for library in libraries:  # what the operations compute with (torch, numpy): nothing of it replaced
        for name, value in list(vars(library).items()):
            yield library, name, value
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
    return tuple((holder, name, _identity(value)) for holder, name, value in _entries(modules, libraries))


def changed(taken: list) -> str | None:
    """The first entry of the snapshot that is not as it was, named; None when all are."""
    for holder, name, identity in taken:
        try:  # (a class's own dictionary: getattr would make a new bound method each time)
            current = holder[name] if isinstance(holder, dict) else vars(holder)[name]
        except (KeyError, TypeError):
            return f"{getattr(holder, '__name__', 'a table')}.{name} (removed)"
        now = _identity(current)
        if len(now) != len(identity) or any(a is not b for a, b in zip(now, identity)):
            return f"{getattr(holder, '__name__', 'a table')}.{name}"
    return None
