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
import gc
import itertools
import operator
import os
import signal
import sys
import types

import torch
import torch.nn.modules.module as _module_hooks
from torch.utils._device import DeviceContext

# every builtin but "_" (the interactive interpreter's last result): each stays the object it was
BUILTINS = tuple(sorted(set(vars(builtins)) - {"_"}))

# the operations whose answers describe a property the student's process reports and that a kernel could forge:
# around them the dispatcher's kernels are compared too. filter_meta's answer comes from kernels (the meta
# device's, through the student's forward); filter_attributes reads Python attributes and types, train_device
# notes moves in a torch function mode, above the dispatcher: no kernel changes what they see. The other
# operations answer with numbers the grader compares itself.
PROPERTY_OPERATIONS = ("filter_meta",)
REGISTERED = "a kernel registered with PyTorch's dispatcher (torch.library) that replaces one of PyTorch's"

_KEYS = "\0keys"  # an entry holding a class's attribute names: one added (shadowing a C method) is a change
_TYPE = "\0type"  # an entry holding an object's class: `obj.__class__ = Other` is a change

# what the comparison itself calls, taken now, before any student code: the worker checks that these entries
# of this module, and this module's functions, are what they were (core()) before it trusts changed()
_FUNCTION_STACK_LENGTH, _FUNCTION_STACK_AT = torch._C._len_torch_function_stack, torch._C._get_function_stack_at
_DISPATCH_STACK_LENGTH = torch._C._len_torch_dispatch_stack
_ALL_OPS, _DUMP = torch._C._dispatch_get_all_op_names, torch._C._dispatch_dump
_GETTRACE, _GETPROFILE = sys.gettrace, sys.getprofile
_GETSIGNAL, _SETSIGNAL, _GETITIMER, _SETITIMER = signal.getsignal, signal.signal, signal.getitimer, signal.setitimer
_SIGNALS = tuple(sorted(signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}))
_TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)
_TORCH_FILES = os.path.dirname(torch.__file__) + os.sep
_COLLECT = gc.collect
_FUNCTION = types.FunctionType
_IS, _CODE, _REPEAT, _MISSING = operator.is_, operator.attrgetter("__code__"), itertools.repeat, object()
_DEFAULTS, _KWDEFAULTS = operator.attrgetter("__defaults__"), operator.attrgetter("__kwdefaults__")
_DICT_GET, _DICT_KEYS = dict.get, dict.keys  # (an object's __dict__ may be set to a dict subclass that lies)


def _entries(modules, libraries=(), objects=()):
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
    for obj in objects:  # the worker's own objects (its Channel): their attributes, none added, their class
        for name, value in vars(obj).items():
            if name != "buffer":
                yield obj, name, value
        yield obj, _KEYS, frozenset(vars(obj))
        yield obj, _TYPE, type(obj)
    for name in BUILTINS:
        if hasattr(builtins, name):
            yield builtins, name, getattr(builtins, name)


def _identity(value):
    if isinstance(value, _FUNCTION):
        return (value, value.__code__, value.__defaults__, value.__kwdefaults__)
    return (value,)


def snapshot(modules, libraries=(), objects=()) -> tuple:
    """modules: the sandbox's own, with their functions' code; libraries: modules and classes whose every
    attribute must stay the object it is (torch, torch.Tensor, numpy, ...); objects: the worker's own
    objects (its Channel), whose attributes and class must stay. The last entry holds the process's
    signal handlers and timers and the kernels registered with PyTorch's dispatcher, as they are now."""
    entries = tuple((holder, name, (value,) if name in (_KEYS, _TYPE) else _identity(value))
                    for holder, name, value in _entries(modules, libraries, objects))
    return (*entries, (None, "\0state", (_signals(), _registrations())))


def with_objects(taken: tuple, objects) -> tuple:
    """The snapshot with the worker's own objects (its Channel) added: their attributes, none added, their class."""
    added = tuple((holder, name, (value,) if name in (_KEYS, _TYPE) else _identity(value))
                  for holder, name, value in _entries((), (), objects))
    return (*taken[:-1], *added, taken[-1])


def with_current(taken: tuple, holder, name: str) -> tuple:
    """The snapshot with holder.name as it is now: a value each worker sets before any student code (the memory
    it shares with the grader, mapped after the fork server took the snapshot)."""
    return tuple((h, n, _identity(vars(holder)[name])) if h is holder and n == name else entry
                 for entry in taken for h, n, _ in [entry])


def with_signals(taken: tuple) -> tuple:
    """The snapshot with the signal handlers and timers as they are now (the confinement sets one)."""
    return (*taken[:-1], (None, "\0state", (_signals(), taken[-1][2][1])))


def core() -> tuple:
    """What changed() relies on, for the worker to compare before it calls it: (entries, functions), entries
    as (dictionary, name, value) for this module's names and every builtin, functions as (function, code,
    defaults, keyword defaults) for this module's functions. Plain tuples, compared with `is` alone."""
    here = vars(sys.modules[__name__])
    entries = tuple((here, name, value) for name, value in here.items() if not name.startswith("__"))
    entries += tuple((vars(builtins), name, vars(builtins)[name]) for name in BUILTINS if name in vars(builtins))
    functions = tuple((value, value.__code__, value.__defaults__, value.__kwdefaults__) for value in here.values()
                      if isinstance(value, types.FunctionType) and value.__module__ == __name__)
    return entries, functions


def _signals() -> tuple:
    """Every signal's handler and the three interval timers: a handler or a timer can run code at a moment of
    its choosing, e.g. to put back what an operation changed before the comparison after it."""
    return (tuple(_GETSIGNAL(number) for number in _SIGNALS), tuple(_GETITIMER(timer) for timer in _TIMERS))


def _registrations() -> frozenset:
    """The kernels registered with PyTorch's dispatcher from outside torch's own files (torch.library,
    torch._C._dispatch_library): one of them can replace torch.equal or a Meta kernel for every caller.
    (torch registers more of its own as it loads its parts lazily, e.g. for torch.compile: not counted.)"""
    found = set()
    for name in _ALL_OPS():
        for line in _DUMP(name).splitlines():
            where = line.partition("registered at ")[2]
            if where and not where.startswith(_TORCH_FILES) and not where.startswith("/__w/"):
                found.add(line)
    return frozenset(found)


def settle(taken: tuple) -> None:
    """At the end of a cell: the objects it left unreachable collected now (their finalizers run between cells,
    not during an operation), and the signal handlers and timers it set put back as they were. (A kernel a cell
    registers with the dispatcher is seen around each operation that reports a property: changed().)"""
    _COLLECT()
    handlers, timers = taken[-1][2][0]
    for timer, (value, interval) in zip(_TIMERS, timers):
        if _GETITIMER(timer) != (value, interval):
            _SETITIMER(timer, value, interval)
    for number, handler in zip(_SIGNALS, handlers):
        if _GETSIGNAL(number) is not handler and handler is not None:
            try:
                _SETSIGNAL(number, handler)
            except (OSError, RuntimeError, ValueError, TypeError):
                pass


def _interposed() -> str | None:
    """What would see or change every torch call, module call or Python line of an operation: a torch function
    or dispatch mode entered, a global module hook, a trace or profile function set."""
    # (torch.set_default_device enters a DeviceContext of torch's own: honest code may call it)
    functions = [_FUNCTION_STACK_AT(i) for i in range(_FUNCTION_STACK_LENGTH())]
    if any(type(mode) is not DeviceContext for mode in functions) or _DISPATCH_STACK_LENGTH():
        return "a torch function mode (TorchFunctionMode or TorchDispatchMode) left active"
    for name, hooks in vars(_module_hooks).items():
        if name.startswith("_global_") and isinstance(hooks, dict) and hooks:
            return f"a global module hook (torch.nn.modules.module.{name}) left registered"
    if _GETTRACE() is not None or _GETPROFILE() is not None:
        return "a trace or profile function (sys.settrace, sys.setprofile) left set"
    return None


def grouped(taken: tuple) -> tuple:
    """The snapshot's entries as changed() compares them first, in loops that run in C (some 5,000 entries:
    a Python loop over them takes milliseconds, and it runs twice per operation): per holder, its names and
    their values; every function's code and defaults; the class and attribute names of the objects and classes
    whose attributes may not be added. Plain tuples, made from `taken` alone."""
    holders, functions, keys, classes = {}, [], [], []
    for holder, name, identity in taken[:-1]:
        if name == _KEYS:
            keys.append((holder, identity[0]))
        elif name == _TYPE:
            classes.append((holder, identity[0]))
        else:
            names, values = holders.setdefault(id(holder), (holder, [], []))[1:]
            names.append(name)
            values.append(identity[0])
            if len(identity) == 4:
                functions.append(identity)
    # a module's or a class's namespace can't be swapped for another: it is taken once; an object's can
    # (obj.__dict__ = {...}): it is looked up at each comparison
    groups = tuple((holder, True, tuple(names), tuple(values))
                   if not isinstance(holder, (dict, types.ModuleType, type)) else
                   (holder if isinstance(holder, dict) else vars(holder), False, tuple(names), tuple(values))
                   for holder, names, values in holders.values())
    functions = tuple(zip(*functions)) or ((), (), (), ())
    return groups, functions, tuple(keys), tuple(classes)


def _unchanged(fast: tuple) -> bool:
    """Whether every entry of grouped() is as it was (without saying which is not)."""
    groups, (functions, codes, defaults, kwdefaults), keys, classes = fast
    for namespace, live, names, values in groups:
        if live:  # what attribute lookup reads, whatever methods a dict subclass set as __dict__ has
            current = map(_DICT_GET, _REPEAT(vars(namespace)), names, _REPEAT(_MISSING))
        else:
            current = map(namespace.get, names, _REPEAT(_MISSING))
        if not all(map(_IS, current, values)):
            return False
    return (all(map(_IS, map(_CODE, functions), codes)) and all(map(_IS, map(_DEFAULTS, functions), defaults))
            and all(map(_IS, map(_KWDEFAULTS, functions), kwdefaults))
            and all(_names(holder) == names for holder, names in keys)
            and all(type(holder) is kind for holder, kind in classes))


def _names(holder) -> frozenset:
    namespace = vars(holder)
    return frozenset(_DICT_KEYS(namespace) if isinstance(namespace, dict) else namespace)


def changed(taken: tuple, registrations: bool = True, fast: tuple | None = None) -> str | None:
    """The first entry of the snapshot that is not as it was, named; None when all are. registrations: also
    compare the dispatcher's kernels (some 70 ms). fast: grouped(taken), compared first (the entries are
    looked at one by one only to name one that changed)."""
    interposed = _interposed()
    if interposed:
        return interposed
    handlers, timers = taken[-1][2][0]
    now_handlers, now_timers = _signals()
    if now_timers != timers or any(a is not b for a, b in zip(now_handlers, handlers)):
        return "a signal handler or an interval timer (signal.signal, signal.setitimer, signal.alarm) set"
    if registrations and _registrations() != taken[-1][2][1]:
        return REGISTERED
    if fast is not None and _unchanged(fast):
        return None
    for holder, name, identity in taken[:-1]:
        if name == _TYPE:
            if type(holder) is not identity[0]:
                return f"the class of the worker's {identity[0].__name__}"
            continue
        if name == _KEYS:
            if frozenset(vars(holder)) != identity[0]:
                added = sorted(set(vars(holder)) - identity[0]) or sorted(identity[0] - set(vars(holder)))
                return f"{getattr(holder, '__name__', type(holder).__name__)}.{added[0]} (added or removed)"
            continue
        try:  # (a class's own dictionary: getattr would make a new bound method each time)
            current = holder[name] if isinstance(holder, dict) else vars(holder)[name]
        except (KeyError, TypeError):
            return f"{getattr(holder, '__name__', 'a table')}.{name} (removed)"
        now = _identity(current)
        if len(now) != len(identity) or any(a is not b for a, b in zip(now, identity)):
            if holder is sys.modules:
                return f"sys.modules[{name!r}]"
            owner = getattr(holder, "__name__", None) or ("a table" if isinstance(holder, dict) else
                                                          f"the worker's {type(holder).__name__}")
            return f"{owner}.{name}"
    # the comparison in C saw a change that a lookup through the objects' own methods doesn't show
    return None if fast is None else "the worker's objects (an attribute dictionary replaced by one that lies)"
