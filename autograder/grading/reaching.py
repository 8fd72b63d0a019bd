"""Code that reaches into the interpreter, named for the TA: found in each student cell's syntax tree, in the
grader's process (never in the worker), and reported as "for the TA to look at", at no cost in points.

The worker refuses to answer once it sees the sandbox changed (sandbox/integrity.py), but code in the same
process can still change things while an operation runs and put them back before it ends, or answer the
grader's questions apart from the lab's (autograder/README.md says which points such code could claim). What
it needs to do so is plain in the source: the garbage collector's list of objects, frames and their locals,
ctypes, torch.library and torch._C, global module hooks, signal handlers and timers, finalizers, the builtins,
trace functions, sys.modules, reloads, the grader's own package, PyTorch's meta device named. Honest solution
code (torch operations, nn.Module subclasses, numpy, f-strings) uses none of it.

findings(source) -> [Finding(line, what)]: what was found and on which line of the cell (1-based).
"""

import ast
from dataclasses import dataclass

# the checks with parts the student's process reports (checks/manifest.py): where the feedback names the findings
PROPERTY_CHECKS = ("filter_structure", "filter_device", "train_device")

# names the lab's setup cell binds (sandbox/prelude.py): `nn.modules.module...` is torch's
PRELUDE = {"torch": "torch", "np": "numpy", "nn": "torch.nn", "F": "torch.nn.functional"}

# a qualified name, or the start of one, and what using it does
CALLS = {
    "gc.get_objects": "the garbage collector's list of every object (the worker's own among them)",
    "gc.get_referrers": "the garbage collector's referrers of an object (the worker's own among them)",
    "gc.get_referents": "the garbage collector's referents of an object",
    "gc.callbacks": "a garbage-collector callback",
    "sys._getframe": "a frame of the call stack (the worker's, above the student's code)",
    "sys._current_frames": "the frames of every thread",
    "sys.settrace": "a trace function (sees and changes every line run)",
    "sys.setprofile": "a profile function (sees every call)",
    "threading.settrace": "a trace function for new threads",
    "threading.setprofile": "a profile function for new threads",
    "sys.addaudithook": "an audit hook",
    "sys.meta_path": "the import system's finders",
    "sys.path_hooks": "the import system's path hooks",
    "inspect.currentframe": "a frame of the call stack",
    "inspect.stack": "the frames of the call stack",
    "inspect.trace": "the frames of the call stack",
    "inspect.getouterframes": "the frames of the call stack",
    "inspect.getinnerframes": "the frames of the call stack",
    "ctypes": "ctypes (reads and writes the process's memory)",
    "_ctypes": "ctypes (reads and writes the process's memory)",
    "cffi": "cffi (reads and writes the process's memory)",
    "numpy.ctypeslib": "numpy's ctypes bridge (memory at any address)",
    "torch.library": "torch.library (registers kernels that replace PyTorch's own operations)",
    "torch._library": "torch._library (registers kernels that replace PyTorch's own operations)",
    "torch._C": "torch._C, PyTorch's internals",
    "torch.overrides": "a torch function mode (sees and changes every torch call)",
    "torch.utils._python_dispatch": "a torch dispatch mode (sees and changes every torch operation)",
    "torch.nn.modules.module.register_module_": "a global module hook (runs around every module's forward)",
    "torch.nn.utils.parametrize": "a parametrization (changes what a module's attribute returns)",
    "signal.signal": "a signal handler (runs at a moment of its choosing)",
    "signal.setitimer": "a timer signal",
    "signal.alarm": "a timer signal",
    "signal.pthread_kill": "a signal sent to a thread",
    "signal.pthread_sigmask": "the signal mask",
    "signal.set_wakeup_fd": "the signal wake-up descriptor",
    "signal.raise_signal": "a signal raised",
    "os.kill": "a signal sent to a process",
    "faulthandler": "faulthandler (dumps or acts on signals)",
    "weakref.finalize": "a finalizer (runs when an object is collected)",
    "atexit": "an exit handler",
    "importlib.reload": "a module reloaded",
    "imp.reload": "a module reloaded",
    "importlib.import_module": "a module imported by a computed name",
    "builtins.__dict__": "the builtins' dictionary",
    "types.CodeType": "a code object built by hand",
    "lab2a": "the grader's own package (lab2a)",
    "os.write": "a raw write to a file descriptor (the grader's pipes among them)",
    "os.writev": "a raw write to a file descriptor (the grader's pipes among them)",
    "os.dup2": "a file descriptor replaced",
    "os.fdopen": "a file opened on a raw descriptor (the grader's pipes among them)",
}

ATTRIBUTES = {  # attributes that lead into the interpreter, whatever object they are read from
    "f_locals": "a frame's local variables", "f_globals": "a frame's global variables",
    "f_builtins": "a frame's builtins", "f_back": "the caller's frame", "f_trace": "a frame's trace function",
    "tb_frame": "a traceback's frame", "gi_frame": "a generator's frame", "cr_frame": "a coroutine's frame",
    "ag_frame": "an async generator's frame", "__code__": "a function's code object",
    "__globals__": "a function's global variables", "__closure__": "a function's closure cells",
    "cell_contents": "a closure cell's contents", "__defaults__": "a function's default arguments",
    "__kwdefaults__": "a function's default arguments", "__subclasses__": "every subclass of a class",
    "__array_interface__": "an array over memory at any address", "co_code": "a code object's bytecode",
    "is_meta": "whether a tensor is on PyTorch's meta device (the grader's stand-in for a GPU)",
    "_global_forward_hooks": "the global module hooks", "_global_forward_pre_hooks": "the global module hooks",
    "_global_backward_hooks": "the global module hooks", "_global_backward_pre_hooks": "the global module hooks",
}

CALLED_NAMES = {"exec": "code run from a string (the scan can't read it)",
                "eval": "code run from a string (the scan can't read it)",
                "compile": "code compiled from a string (the scan can't read it)",
                "__import__": "a module imported by a computed name", "breakpoint": "the debugger"}
MUTATING = {"pop", "popitem", "update", "setdefault", "clear", "__setitem__", "__delitem__"}


@dataclass(frozen=True)
class Finding:
    line: int     # in the cell, 1-based
    what: str

    def as_dict(self, cell: str) -> dict:
        return {"cell": cell, "line": self.line, "what": self.what}


def _parse(source: str) -> ast.Module | None:
    for text in (source, _ipython(source)):
        if text is None:
            continue
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None


def _ipython(source: str) -> str | None:
    """The cell as IPython runs it (magics as the calls IPython makes), when IPython is here."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 (no IPython, or text it can't transform: the plain parse decides)
        return None


class _Scan(ast.NodeVisitor):
    def __init__(self):
        self.aliases = dict(PRELUDE)
        self.found = {}

    def note(self, node, what: str) -> None:
        self.found.setdefault((node.lineno, what), None)

    def qualified(self, node) -> str | None:
        """The dotted name an expression stands for (through the cell's imports), or None."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def match(self, name: str | None) -> str | None:
        if not name:
            return None
        for key, what in CALLS.items():
            if name == key or name.startswith(key + ".") or (key.endswith("_") and name.startswith(key)):
                return what
        return None

    # imports: bind aliases, and name what is imported
    def visit_Import(self, node):
        for alias in node.names:
            self.aliases[(alias.asname or alias.name).split(".")[0]] = \
                alias.name if alias.asname else alias.name.split(".")[0]
            what = self.match(alias.name)
            if what and not alias.name.startswith(("gc", "signal", "inspect", "importlib", "weakref", "os", "sys")):
                self.note(node, f"imports {alias.name}: {what}")

    def visit_ImportFrom(self, node):
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            full = f"{module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = full
            what = self.match(full) or self.match(module if module in ("ctypes", "cffi", "lab2a") else None)
            if what:
                self.note(node, f"imports {full}: {what}")

    def visit_Name(self, node):
        if node.id == "__builtins__":
            self.note(node, "__builtins__: the builtins every name falls back on")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        name = self.qualified(node)
        what = self.match(name)
        stored = isinstance(node.ctx, (ast.Store, ast.Del)) and self._store(node, name)
        if what and not stored and self.match(self.qualified(node.value)) != what:
            self.note(node, f"{name}: {what}")   # (once per chain: torch._C._x names torch._C once)
        if node.attr in ATTRIBUTES:
            self.note(node, f".{node.attr}: {ATTRIBUTES[node.attr]}")
        self.generic_visit(node)

    def _store(self, node, name: str | None) -> bool:
        """An attribute of an imported module or class assigned or deleted: noted (True)."""
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id not in self.aliases or root.id == "self":
            return False
        base = self.qualified(node.value)
        if base.startswith("torch.backends"):  # settings meant to be set (cudnn.deterministic = True)
            return False
        if base == "builtins" or base.startswith(("builtins.", "sys.")) or base == "sys":
            self.note(node, f"{name} replaced: the builtins or the interpreter's own settings")
        else:
            self.note(node, f"{name} replaced: a module's or a library's attribute changed (monkey-patching)")
        return True

    def visit_Subscript(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)) and self.qualified(node.value) == "sys.modules":
            self.note(node, "sys.modules changed: the modules every import finds")
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in CALLED_NAMES and func.id not in self.aliases:
            self.note(node, f"{func.id}(): {CALLED_NAMES[func.id]}")
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            target = self.qualified(node.args[0])
            if target in ("builtins", "sys") or (target and target.split(".")[0] in self.aliases
                                                 and target.split(".")[0] != "self"):
                self.note(node, f"{func.id}({target}, ...): a module's attribute changed")
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr") and len(node.args) >= 2:
            attribute = node.args[1]
            if isinstance(attribute, ast.Constant) and attribute.value in ATTRIBUTES:
                self.note(node, f".{attribute.value}: {ATTRIBUTES[attribute.value]}")
        if isinstance(func, ast.Name) and func.id == "vars" and node.args \
                and self.qualified(node.args[0]) == "builtins":
            self.note(node, "vars(builtins): the builtins' dictionary")
        if isinstance(func, ast.Attribute) and func.attr in MUTATING and self.qualified(func.value) == "sys.modules":
            self.note(node, "sys.modules changed: the modules every import finds")
        if self.qualified(func) == "weakref.ref" and len(node.args) >= 2:
            self.note(node, "weakref.ref with a callback: a finalizer (runs when an object is collected)")
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        if node.name == "__del__":
            self.note(node, "__del__: a finalizer (runs when an object is collected)")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Constant(self, node):
        if isinstance(node.value, str) and node.value.strip().lower() in ("meta", "meta:0"):
            self.note(node, "'meta': PyTorch's meta device named (the grader's stand-in for a GPU)")


def findings(source: str) -> list[Finding]:
    """What the cell's code does that reaches into the interpreter, by line; [] for a cell that can't be read
    as Python (it does not run either)."""
    tree = _parse(source)
    if tree is None:
        return []
    scan = _Scan()
    try:
        scan.visit(tree)
    except RecursionError:  # a tree too deep to walk: say so rather than nothing
        return [Finding(1, "code nested too deep to read")]
    return [Finding(line, what) for line, what in sorted(scan.found)]


def review(cells) -> list[dict]:
    """[{cell, line, what}] for the student's cells (grading/layout.py's StudentCell: name and source)."""
    return [finding.as_dict(cell.name) for cell in cells for finding in findings(cell.source)]
