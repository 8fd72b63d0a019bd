"""A notebook cell read as IPython reads it, never by slicing its text: IPython's own input transformation
(ipython_source), then Python's parser with IPython's compiler flags and the __future__ features the cells
above set. Its statements are the AST's top-level nodes, each marked whether it is a definition (the
statements that run while grading: layout.py says the rule); the worker parses the same source with the
same flags and compiles each node that runs on its own (as IPython does), so a form feed or a Unicode line
separator inside a comment or a string stays inside it, and `from __future__ import annotations` holds
for the rest of the cell and the cells below. IPython's magics and shell escapes:
  * a %magic or !shell line is the call IPython makes of it (`get_ipython().system(...)`): a call, never
    run, and so is an assignment of one (`files = !ls`);
  * a cell under %%time, %%capture or %%prun is graded as the code IPython runs of it in the notebook's
    namespace: its body (%%prun: with the code after its options), at its own lines; when the magic's
    arguments are wrong IPython runs nothing, and neither does the grader;
  * under any other cell magic (%%timeit, %%writefile, %%bash...) the cell is one call and nothing in it
    runs: %%timeit's definitions stay inside its timing loop in Jupyter too.
IPython's single-line rewrites that depend on the live kernel (automagic without %, autocall) are not
applied: a one-line cell is read as the Python it is.
"""

import ast
import codeop
import functools
import re
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace

from IPython.core import magic_arguments
from IPython.core.inputtransformer2 import TransformerManager
from IPython.core.magic import Magics
from IPython.core.magics.execution import ExecutionMagics

# ---- a cell as IPython runs it --------------------------------------------------------------------------------

# IPython's compiler flags (its CachingCompiler is a codeop.Compile): a cell is parsed with them and with the
# __future__ features the cells above set; each top-level node is then compiled on its own, from the AST.
IPYTHON_FLAGS = codeop.Compile().flags
MAX_NESTED_MAGICS = 20  # %%time over %%capture over ...: deeper than this, the cell is not read
# the line breaks of Python's tokenizer and of Jupyter's editor (not str.splitlines's form feed, \x1c-\x1e,
# \x85, U+2028, U+2029: inside a comment or a string they are part of it)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# cell magics that run their body in the notebook's namespace: line -> the code IPython runs of line and body
# (their own argument parsers; a UsageError: the magic fails and nothing runs), or None
_BODY_RUNS = {
    "time": lambda line, body: None if magic_arguments.parse_argstring(ExecutionMagics.time, line, partial=True)[1]
    else body,
    "capture": lambda line, body: magic_arguments.parse_argstring(ExecutionMagics.capture, line) and body,
    "prun": lambda line, body: Magics.parse_options(SimpleNamespace(options_table={}), line, "D:l:rs:T:q",
                                                    list_all=True, posix=False)[1] + "\n" + body,
}


def python_lines(text: str) -> list[str]:
    """The text's lines as Python and Jupyter count them."""
    return _LINE_BREAK.split(text)


def _cell_magic(source: str) -> tuple[str, str, str] | None:
    """(name, line, body) when IPython made the whole cell one %%magic call."""
    if not source.lstrip("\n").startswith("get_ipython().run_cell_magic("):
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "run_cell_magic"
            and _from_ipython(call.func) and len(call.args) == 3 and not call.keywords
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)):
        return None
    name, line, body = (a.value for a in call.args)
    return name, line, body


def _blank_lines_dropped(text: str) -> int:
    """The line breaks of the blank lines IPython drops at the start of a cell (its lines keep their numbers)."""
    dropped = ""
    for line in text.splitlines(keepends=True):  # (IPython's own split, which the dropping follows)
        if not line.isspace():
            break
        dropped += line
    return len(python_lines(dropped)) - 1


@functools.lru_cache(maxsize=8)  # (a cell is read for its statements and for what it defines)
def ipython_source(text: str, depth: int = 0) -> str:
    """The Python IPython runs for a cell's text: its input transformation (a %magic, %%magic or !shell line
    becomes the call IPython makes; prompts and a common indent are removed). A cell under %%time, %%capture
    or %%prun is the code IPython runs of it, at its own lines. ValueError if IPython can't transform it."""
    if depth > MAX_NESTED_MAGICS:
        raise ValueError(f"nests more than {MAX_NESTED_MAGICS} cell magics: the grader does not read it")
    try:
        with warnings.catch_warnings():  # (IPython warns of lines it cut where Python does not)
            warnings.simplefilter("ignore")
            source = TransformerManager().transform_cell(text)
    except Exception as error:  # noqa: BLE001 (IPython's transformers on text it can't read)
        raise ValueError(f"could not be read by IPython, so it does not run in Jupyter either ({type(error).__name__}: "
                         f"{str(error)[:200]})") from None
    source = "\n" * _blank_lines_dropped(text) + source
    magic = _cell_magic(source)
    if magic is None or magic[0] not in _BODY_RUNS:
        return source
    name, line, body = magic
    try:
        code = _BODY_RUNS[name](line, body)
    except (Exception, SystemExit):  # noqa: BLE001 (IPython's UsageError: the magic fails, its body never runs)
        code = None
    if code is None:
        return source
    whole = text if text.endswith("\n") else text + "\n"
    above = len(python_lines(whole)) - len(python_lines(code))  # the magic's line, and blank lines above it
    return "\n" * max(above, 0) + ipython_source(code, depth + 1)


def parse(source: str, flags: int = IPYTHON_FLAGS) -> ast.Module:
    """The cell's AST as IPython's compiler parses it, with these flags (its own and the __future__ features
    in force)."""
    return compile(source, "<cell>", "exec", flags | ast.PyCF_ONLY_AST, dont_inherit=True)


def future_flags(tree: ast.Module, flags: int) -> int:
    """The flags in force after the cell: its top-level __future__ imports compiled, as IPython's compiler does."""
    compiler = codeop.Compile()
    compiler.flags = flags
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            try:
                compiler(ast.Module([node], []), "<cell>", "exec")
            except (SyntaxError, ValueError):
                pass  # an unknown feature: a SyntaxError for that statement, no flag
    return compiler.flags


# ---- which statements are definitions ---------------------------------------------------------------------

_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign,
                ast.AnnAssign, ast.AugAssign, ast.Pass, ast.Global, ast.Nonlocal)


def is_definition(statement: ast.stmt) -> bool:
    if isinstance(statement, _DEFINITIONS):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant)  # a docstring
    if isinstance(statement, ast.If):
        return all(map(is_definition, statement.body + statement.orelse))
    if isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
        blocks = statement.body + statement.orelse + statement.finalbody
        return all(map(is_definition, blocks + [s for h in statement.handlers for s in h.body]))
    if isinstance(statement, ast.With):
        return all(map(is_definition, statement.body))
    return False


def _from_ipython(node: ast.expr) -> bool:
    """An expression made on get_ipython(): get_ipython().system(...), get_ipython().getoutput(...)."""
    while isinstance(node, (ast.Call, ast.Attribute)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython":
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


def is_magic(statement: ast.stmt) -> bool:
    """An assignment IPython made of a magic or shell line (`files = !ls`, `t = %timeit -o f()`): IPython's
    call, not a definition (the grader has no IPython to call)."""
    value = getattr(statement, "value", None)
    return isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and value is not None \
        and _from_ipython(value)


@dataclass(frozen=True)
class Statement:
    index: int      # its position among the cell's top-level nodes (the worker compiles that node)
    line: int       # its first line in the cell (1-based), decorators included
    text: str       # its first line, for messages only
    runs: bool      # a definition: it runs while grading
    node: ast.stmt = field(compare=False, repr=False)


class _Lines:
    """A source's lines as Python counts them, each encoded once (AST columns count UTF-8 bytes): the first
    line of each statement for messages, in time linear in the cell (ast.get_source_segment splits the whole
    source again for each node)."""

    def __init__(self, source: str):
        self.lines, self.encoded = python_lines(source), {}

    def first(self, node: ast.stmt) -> str:
        decorators = getattr(node, "decorator_list", [])
        start = decorators[0] if decorators else node
        if start.lineno not in self.encoded:
            self.encoded[start.lineno] = self.lines[start.lineno - 1].encode("utf-8", "surrogatepass")
        line = self.encoded[start.lineno]
        end = start.end_col_offset if start.end_lineno == start.lineno else None
        return ("@" if decorators else "") + line[start.col_offset:end].decode("utf-8", "replace")


def _problem(error: Exception) -> str:
    if isinstance(error, SyntaxError):
        where = f" at line {error.lineno}" if error.lineno else ""
        text = f", in `{error.text.strip()[:120]}`" if error.text and error.text.strip() else ""
        return (f"has a {type(error).__name__}{where} ({error.msg}){text}: it did not run, so nothing it defines "
                f"exists")
    return f"could not be read as Python ({type(error).__name__}: {str(error)[:200]})"


def _plain_syntax_error(source: str, flags: int) -> SyntaxError | None:
    """The syntax error as Python words it for a whole file (IPython's flags for interactive input give
    "invalid syntax" where Python says "Perhaps you forgot a comma?")."""
    try:
        parse(source, flags & ~(codeop.PyCF_DONT_IMPLY_DEDENT | codeop.PyCF_ALLOW_INCOMPLETE_INPUT))
    except SyntaxError as error:
        return error
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


def statements(source: str, flags: int = IPYTHON_FLAGS) -> tuple[list[Statement], str | None]:
    """The top-level statements of a cell's Python (ipython_source), or ([], why it can't run): a syntax error."""
    try:
        tree = parse(source, flags)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return [], _problem(_plain_syntax_error(source, flags) or error)
    found, lines = [], _Lines(source)
    for index, node in enumerate(tree.body):
        decorators = getattr(node, "decorator_list", [])
        line = min(d.lineno for d in decorators) if decorators else node.lineno
        found.append(Statement(index, line, lines.first(node), is_definition(node) and not is_magic(node), node))
    return found, None


def defines(text: str, name: str) -> bool:
    """The cell (its text, as written) defines this function or class at its top level."""
    names = _top_level_definitions(text)
    if names is None:  # a cell with a syntax error: look at the text
        return any(line.startswith((f"def {name}(", f"class {name}(", f"class {name}:")) for line in python_lines(text))
    return name in names


@functools.lru_cache(maxsize=256)
def _top_level_definitions(text: str) -> frozenset | None:
    try:
        tree = parse(ipython_source(text))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return frozenset(s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))


_SEPARATORS = {"\x0b": "vertical tab", "\x0c": "form feed", "\x1c": "file separator (\\x1c)",
               "\x1d": "group separator (\\x1d)", "\x1e": "record separator (\\x1e)", "\x85": "next line (\\x85)",
               "\u2028": "line separator (U+2028)", "\u2029": "paragraph separator (U+2029)"}


def _separator_hint(text: str) -> str:
    """Why IPython may have failed on a cell Python reads: a character str.splitlines breaks lines at."""
    for number, line in enumerate(python_lines(text), start=1):
        found = next((c for c in line if c in _SEPARATORS), None)
        if found:
            return (f". Line {number} holds a {_SEPARATORS[found]}, which IPython takes for a line break even inside "
                    f"a comment or a string: remove it")
    return ""


def _compiled_whole(text: str, depth: int = 0) -> str | None:
    """The cell magic (time or prun) whose body IPython compiles as one piece, when the cell's code runs under
    one: a statement that can't be compiled there (a __future__ import after other code) stops the whole body.
    (%%capture runs its body as a cell of its own, statement by statement, as a plain cell runs.)"""
    try:
        magic = _cell_magic(TransformerManager().transform_cell(text))
        inner = magic and _cell_magic(TransformerManager().transform_cell(magic[2]))
    except Exception:  # noqa: BLE001 (ipython_source says what is wrong with the cell)
        return None
    if magic is None or magic[0] not in ("time", "prun", "capture") or depth > MAX_NESTED_MAGICS:
        return None
    if inner:
        return _compiled_whole(magic[2], depth + 1)
    return magic[0] if magic[0] != "capture" else None


def read(text: str, flags: int) -> tuple[str, list[Statement], str | None]:
    """A cell's text as it runs, given the compiler flags in force: (its Python, its statements, why it can't
    run at all or None). A cell IPython can't transform, or whose Python doesn't compile, has no statements."""
    try:
        source = ipython_source(text)
    except ValueError as error:
        return "", [], f"{error}{_separator_hint(text)}"
    found, problem = statements(source, flags)
    magic = _compiled_whole(text) if not problem else None
    if magic:
        try:
            compile(source, "<cell>", "exec", flags, dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            found, problem = [], (f"runs under %%{magic}, which compiles the cell's code as one piece, and that "
                                  f"fails ({type(error).__name__}: {getattr(error, 'msg', error)}), so none of it "
                                  f"runs in Jupyter either")
    return source, found, problem


def magic_of(text: str) -> str | None:
    """The cell magic a cell's text runs under, if it runs none of the cell as the notebook's code."""
    try:
        magic = _cell_magic(ipython_source(text))
    except ValueError:
        return None
    return magic[0] if magic else None
