"""Reading a submission: the student's code out of a notebook file, and nothing else.

What runs (the rule):
  * the two solution cells, found by their nbgrader grade_id ("train" and "convolutional_filter"), run
    whole. If the notebook's metadata was stripped, the code cells without a grade_id that define
    `def train` / `class ConvolutionalFilter` at their top level take their place;
  * cells the student added (code cells without an nbgrader grade_id) run only if every top-level
    statement is a definition: def, class (decorators included), import, an assignment of a constant
    (TAPS = 81, SIZES = (1, 2)), a docstring or pass. Such a cell can hold a helper the solution uses;
    a cell that trains, plots or calls anything is left out (and listed in the report's notes), so heavy
    work outside the solution cells never runs in grading;
  * everything else is ignored: the instructor's cells (the setup's names come from the grader's own
    copy, prelude.py), the test cells, markdown, and every stored output.
Cells run in notebook order, as "Run all" would. IPython magics and shell lines (%time, !pip) in a cell
that is otherwise not valid Python become `pass`.

read() never raises: a file that is not a readable notebook gives a Submission with `problem` set.
"""

import ast
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

# grade_id -> (task, the definition the cell holds, the name it defines)
SOLUTION_CELLS = {
    "train": ("train", "def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device)", "train"),
    "convolutional_filter": ("filter", "class ConvolutionalFilter(nn.Module)", "ConvolutionalFilter"),
}
MAX_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class StudentCell:
    name: str            # "train", "convolutional_filter" or "cell 24" (its position in the notebook)
    source: str          # the code to run
    kind: str            # "solution" or "added"
    task: str | None     # "train" / "filter" for a solution cell
    position: int        # 1-based position among all the notebook's cells

    @property
    def label(self) -> str:
        if self.kind == "solution":
            return f"the cell '{self.name}'"
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        return f"your cell {self.position} (`{first[:40]}{'...' if len(first) > 40 else ''}`)"


@dataclass(frozen=True)
class Submission:
    path: str
    cells: tuple = ()                        # StudentCell, in notebook order
    problem: str | None = None               # why the file is not a notebook that can be graded
    missing: tuple = ()                      # solution grade_ids found nowhere
    notes: tuple = field(default_factory=tuple)

    @property
    def readable(self) -> bool:
        return self.problem is None


# ---- which statements are definitions -----------------------------------------------------------------

def _constant(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_constant(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _constant(k) for k in node.keys) and all(_constant(v) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _constant(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv)):
        return _constant(node.left) and _constant(node.right)
    return False


def _is_definition(statement: ast.stmt) -> bool:
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                              ast.Pass)):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant)  # a docstring
    if isinstance(statement, ast.Assign):
        return all(isinstance(t, ast.Name) for t in statement.targets) and _constant(statement.value)
    if isinstance(statement, ast.AnnAssign):
        return isinstance(statement.target, ast.Name) and (statement.value is None or _constant(statement.value))
    return False


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def only_definitions(source: str) -> bool:
    tree = _parse(source)
    return tree is not None and all(_is_definition(s) for s in tree.body)


def definitions_of(source: str) -> str | None:
    """The cell with every top-level statement that is not a definition blanked out (line numbers kept),
    or None if it does not parse or holds no definition."""
    tree = _parse(source)
    if tree is None:
        return None
    lines = source.splitlines()
    keep = set()
    for statement in tree.body:
        if _is_definition(statement) and not isinstance(statement, (ast.Pass, ast.Expr)):
            first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
            keep.update(range(first, (statement.end_lineno or statement.lineno) + 1))
    if not keep:
        return None
    return "\n".join(line if i in keep else "" for i, line in enumerate(lines, start=1)) + "\n"


def defines(source: str, name: str) -> bool:
    tree = _parse(source)
    if tree is None:  # a cell with a syntax error: look at the text
        return any(line.startswith((f"def {name}(", f"class {name}(", f"class {name}:"))
                   for line in source.splitlines())
    return any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and s.name == name
               for s in tree.body)


def without_magics(source: str) -> str:
    """IPython magics and shell escapes (%time, %%capture, !pip ...) replaced by `pass`, when the cell is
    not valid Python because of them. Line numbers are kept."""
    if _parse(source) is not None:
        return source
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[:len(line) - len(stripped)] + "pass  # IPython magic left out by the grader"
        lines.append(line)
    changed = "\n".join(lines) + "\n"
    return changed if _parse(changed) is not None else source


# ---- reading the file -----------------------------------------------------------------------------------

def _unreadable(path: str, problem: str) -> Submission:
    return Submission(path, problem=problem, missing=tuple(SOLUTION_CELLS))


def _load(path: Path):
    """(the notebook as a dict, None) or (None, why it can't be read)."""
    try:
        if not path.exists():
            return None, f"there is no file {path}"
        if path.is_dir():
            return None, f"{path} is a folder, not a notebook file"
        if not path.is_file():  # a device or a pipe (e.g. a link to /dev/zero) would be read forever
            return None, f"{path} is not a regular file, so it is not a notebook"
        if path.stat().st_size > MAX_BYTES:
            return None, f"{path} is {path.stat().st_size / 1e6:.0f} MB, over the {MAX_BYTES // 2 ** 20} MiB a notebook may have"
        raw = path.read_bytes()
    except OSError as error:
        return None, f"the file could not be read: {error.strerror or error}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return None, (f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x} at position {error.start} is not "
                      f"valid UTF-8): a notebook is a UTF-8 JSON file. Was it saved by another program? "
                      f"Download it again from Jupyter (File > Download).")
    if not text.strip():
        return None, "the file is empty: it is not a notebook"
    try:
        raw_notebook = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        where = f" (line {error.lineno}, column {error.colno}: {error.msg})" if isinstance(error, json.JSONDecodeError) else ""
        return None, (f"the file is not valid JSON{where}, so it is not a readable notebook: it may have been "
                      f"damaged or edited outside Jupyter. Restore it (File > Revert to Checkpoint) or start "
                      f"again from the released notebook.")
    if not isinstance(raw_notebook, dict) or not ("cells" in raw_notebook or "worksheets" in raw_notebook):
        return None, "the file is JSON but not a Jupyter notebook (it has no cells)"
    try:
        import nbformat
        with warnings.catch_warnings():  # nbformat's notes on slightly invalid notebooks (duplicate cell ids...)
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4, capture_validation_error={}), None
    except Exception as error:  # nbformat's errors are of many kinds; a lenient read below
        if isinstance(raw_notebook.get("cells"), list):
            return raw_notebook, None
        return None, f"the file is not a notebook nbformat can read: {type(error).__name__}: {str(error)[:200]}"


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return value if isinstance(value, str) else ""


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def read(path) -> Submission:
    path_text = str(path)
    notebook, problem = _load(Path(path))
    if problem:
        return _unreadable(path_text, problem)
    cells = notebook.get("cells")
    if not isinstance(cells, list) or not cells:
        return _unreadable(path_text, "the notebook has no cells: the solution cells are missing")

    code = []  # (position, grade_id, source) of every code cell
    for position, cell in enumerate(cells, start=1):
        cell = _dict(cell)
        if cell.get("cell_type") != "code":
            continue
        grade_id = _dict(_dict(cell.get("metadata")).get("nbgrader")).get("grade_id")
        code.append((position, grade_id if isinstance(grade_id, str) else None, _text(cell.get("source"))))

    notes = []
    chosen = {}  # position -> StudentCell
    missing = []
    for grade_id, (task, definition, name) in SOLUTION_CELLS.items():
        found = [(p, s) for p, g, s in code if g == grade_id]
        by_content = False
        if not found:  # nbgrader metadata stripped: the cells that define the name
            found = [(p, s) for p, g, s in code if g is None and defines(s, name)]
            by_content = bool(found)
        if not found:
            missing.append(grade_id)
            if any(_dict(_dict(_dict(c).get("metadata")).get("nbgrader")).get("grade_id") == grade_id for c in cells):
                notes.append(f"the solution cell '{grade_id}' is not a code cell: in Jupyter, select it and change "
                             f"its type back to Code (Cell > Cell Type > Code, or press Y).")
                continue
            notes.append(f"no cell of the notebook defines {name}: the solution cell '{grade_id}' ({definition}: "
                         f"...) is missing. Was it deleted? Copy it back from the released notebook.")
            continue
        if by_content:
            notes.append(f"the solution cell '{grade_id}' has no nbgrader metadata: the grader took the cell that "
                         f"defines {name} instead (cell {', '.join(str(p) for p, _ in found)}).")
        for copy, (position, source) in enumerate(found, start=1):
            label = grade_id if copy == 1 else f"{grade_id} (copy {copy})"
            chosen[position] = StudentCell(label, without_magics(source), "solution", task, position)

    left_out = []
    for position, grade_id, source in code:
        if position in chosen or grade_id is not None or not source.strip():
            continue
        source = without_magics(source)
        if only_definitions(source):
            chosen[position] = StudentCell(f"cell {position}", source, "added", None, position)
        else:
            left_out.append(position)
    if left_out:
        notes.append(f"{len(left_out)} code cell{'s' if len(left_out) > 1 else ''} outside the solution cells "
                     f"(cell{'s' if len(left_out) > 1 else ''} {', '.join(map(str, left_out))}) "
                     f"{'were' if len(left_out) > 1 else 'was'} not run: outside the solution cells the grader "
                     f"runs only cells of definitions (def, class, import, constants).")
    ordered = tuple(chosen[p] for p in sorted(chosen))
    return Submission(path_text, ordered, None, tuple(missing), tuple(notes))
