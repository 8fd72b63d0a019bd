"""What grading runs, in what order: the student's cells and the checks, as Restart & Run All meets them.

The rule (the notebook says it to students in one sentence):
  * the student's code cells (the solution cells and every cell they added) run from top to bottom,
    but only their definitions: import, def, class, assignments, and if/try/with blocks made of
    definitions. Other statements (print(...), plt.plot(...), asserts, loops, a training run) are
    skipped, so a stray statement beside a definition never costs the definition; a definition that
    fails or runs too long is skipped on its own and the rest of the cell still runs;
  * each check runs where its test cell stands and sees what is defined above it (a helper defined
    below the tests, or a `train` redefined later, is not seen, as in Restart & Run All);
  * the instructor's cells never run: the setup's names come from the grader's own copy
    (sandbox/prelude.py), the lab's cells (data, training, plots) are not needed, and test cells are
    replaced by the checks themselves. Stored outputs are never read.
Cells of the release the student deleted are put back first, each after the cell it followed (the
rule nbgrader's add_missing_cells follows), so both channels place every check alike.
"""

import ast
import copy
from dataclasses import dataclass, field
from pathlib import Path

from lab2a.autograder.checks.manifest import CHECKS

import lab2a

# grade_id of a solution cell -> (task, the definition it holds, the name it defines)
SOLUTION_CELLS = {
    "train": ("train", "def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device)", "train"),
    "convolutional_filter": ("filter", "class ConvolutionalFilter(nn.Module)", "ConvolutionalFilter"),
}
TEST_CELLS = {c.test_cell: c.name for c in CHECKS}


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return value if isinstance(value, str) else ""


def grade_id(cell) -> str | None:
    value = _dict(_dict(_dict(cell).get("metadata")).get("nbgrader")).get("grade_id")
    return value if isinstance(value, str) else None


def _is_solution(cell) -> bool:
    return bool(_dict(_dict(_dict(cell).get("metadata")).get("nbgrader")).get("solution"))


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


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@dataclass(frozen=True)
class Statement:
    line: int       # its first line in the cell (1-based), decorators included
    source: str     # its text
    runs: bool      # a definition: it runs while grading


def _segment(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    (first, first_col), (last, last_col) = start, end
    if first == last:
        return lines[first - 1][first_col:last_col]
    return "\n".join([lines[first - 1][first_col:], *lines[first:last - 1], lines[last - 1][:last_col]])


def statements(source: str) -> tuple[list[Statement], str | None]:
    """The cell's top-level statements, or ([], why it can't run): a syntax error."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        where = f" at line {error.lineno}" if error.lineno else ""
        text = f", in `{error.text.strip()[:120]}`" if error.text and error.text.strip() else ""
        return [], (f"has a {type(error).__name__}{where} ({error.msg}){text}: it did not run, so nothing it defines "
                    f"exists")
    except (ValueError, RecursionError, MemoryError) as error:
        return [], f"could not be read as Python ({type(error).__name__}: {str(error)[:200]})"
    lines = source.splitlines()
    found = []
    for node in tree.body:
        decorators = getattr(node, "decorator_list", [])
        # a decorated def starts at its first decorator's "@", at the start of that line
        start = (min(d.lineno for d in decorators), 0) if decorators else (node.lineno, node.col_offset)
        text = _segment(lines, start, (node.end_lineno, node.end_col_offset))
        found.append(Statement(start[0], text, is_definition(node)))
    return found, None


def defines(source: str, name: str) -> bool:
    tree = _parse(without_magics(source))
    if tree is None:  # a cell with a syntax error: look at the text
        return any(line.startswith((f"def {name}(", f"class {name}(", f"class {name}:"))
                   for line in source.splitlines())
    return any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and s.name == name
               for s in tree.body)


# ---- the cells -----------------------------------------------------------------------------------------------

@dataclass
class StudentCell:
    name: str            # "train", "convolutional_filter" or "cell 24" (its position in the notebook)
    kind: str            # "solution" or "added"
    task: str | None     # "train" / "filter": the solution the cell holds, if any
    position: int        # 1-based position among all the notebook's cells
    statements: list
    problem: str | None = None   # why the cell can't run at all (a syntax error)
    source: str = ""

    @property
    def label(self) -> str:
        if self.kind == "solution":
            return f"the cell '{self.name}'"
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        return f"your cell {self.position} (`{first[:40]}{'...' if len(first) > 40 else ''}`)"

    def defined_names(self) -> set[str]:
        """The names the cell's top-level definitions bind."""
        names = set()
        for statement in self.statements:
            tree = _parse(statement.source)
            for node in tree.body if tree else []:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
                elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        return names

    @property
    def filename(self) -> str:
        return f"<cell {self.name}>"


@dataclass
class Plan:
    steps: list = field(default_factory=list)     # ("cell", StudentCell) or ("check", name), in notebook order
    notes: list = field(default_factory=list)     # for the student: what was missing or done
    missing: list = field(default_factory=list)   # solution grade_ids no cell provides

    @property
    def cells(self) -> list:
        return [item for kind, item in self.steps if kind == "cell"]


def release_notebook() -> Path | None:
    """The release notebook this grader belongs to: release/lab2a/lab2a.ipynb in the course repository,
    or release.ipynb in the package of a copy (channels/kit.py; never the student's own notebook)."""
    package = Path(lab2a.__file__).resolve().parent
    for candidate in (package.parent / "release" / "lab2a" / "lab2a.ipynb", package / "release.ipynb"):
        if candidate.is_file():
            return candidate
    return None


def restore_deleted_cells(notebook, release) -> list[str]:
    """Put back the release's cells the student deleted (test cells, the lab's cells and text; not the
    solution cells, whose code may live in a cell of the student's own), each after the cell it followed.
    Returns the grade_ids put back."""
    present = {grade_id(c) for c in notebook["cells"]} - {None}
    restored = []
    for index, cell in enumerate(release["cells"]):
        gid = grade_id(cell)
        if gid is None or gid in present or _is_solution(cell):
            continue
        before = {grade_id(c) for c in release["cells"][:index]} - {None}
        positions = [i for i, c in enumerate(notebook["cells"]) if grade_id(c) in before]
        notebook["cells"].insert(positions[-1] + 1 if positions else 0, copy.deepcopy(cell))
        present.add(gid)
        restored.append(gid)
    return restored


def reattach_metadata(notebook, release) -> list[str]:
    """Give a notebook stripped of nbgrader's metadata (by an editor, or a copy into a new notebook) its
    metadata back: each release cell to the first cell of the same type and text, each solution cell to
    the first code cell defining its name, each written answer (whose text is the student's) to the text
    cell right after its question. Returns the grade_ids given back; changes only cells without metadata."""
    cells = notebook["cells"]
    taken, given, previous = set(), [], None

    def free(i: int) -> bool:
        return i not in taken and grade_id(cells[i]) is None

    for cell in release["cells"]:
        gid = grade_id(cell)
        if gid is None:
            continue
        if gid in SOLUTION_CELLS:
            name = SOLUTION_CELLS[gid][2]
            match = next((i for i, c in enumerate(cells) if free(i) and c.get("cell_type") == "code"
                          and defines(_text(c.get("source")), name)), None)
        elif is_written_answer(cell):
            after = previous + 1 if previous is not None else None
            match = after if after is not None and after < len(cells) and free(after) \
                and cells[after].get("cell_type") == "markdown" else None
        else:
            text = _text(cell.get("source")).strip()
            match = next((i for i, c in enumerate(cells) if free(i) and c.get("cell_type") == cell.get("cell_type")
                          and _text(c.get("source")).strip() == text), None)
        previous = match
        if match is not None:
            taken.add(match)
            cells[match] = {**cells[match], "metadata": {**_dict(cells[match].get("metadata")),
                                                         "nbgrader": copy.deepcopy(cell["metadata"]["nbgrader"])}}
            given.append(gid)
    return given


def is_written_answer(cell) -> bool:
    """A manually graded answer: a text cell that is both graded and a solution (nbgrader's convention)."""
    marks = _dict(_dict(_dict(cell).get("metadata")).get("nbgrader"))
    return cell.get("cell_type") == "markdown" and bool(marks.get("grade") and marks.get("solution"))


def _nbgrader_cell(cell) -> bool:
    marks = _dict(_dict(cell.get("metadata")).get("nbgrader"))
    return bool(marks.get("grade") or marks.get("solution") or marks.get("locked"))


def deduplicate(cells: list) -> list:
    """The cells as nbgrader's DeduplicateIds leaves them: of the cells sharing a grade_id (a test cell
    copied, a solution cell copied and pasted), the last keeps it, the others become plain cells."""
    seen, kept = set(), []
    for cell in reversed(cells):
        gid = grade_id(cell)
        if gid is not None and _nbgrader_cell(cell):
            if gid in seen:
                cell = {**cell, "metadata": {k: v for k, v in _dict(cell.get("metadata")).items() if k != "nbgrader"}}
            seen.add(gid)
        kept.append(cell)
    return kept[::-1]


def plan(notebook: dict, release: dict | None = None, checks=None) -> Plan:
    """The steps grading takes for this notebook (the notebook itself is not changed). checks: the names of
    the checks to place (default: all).

    A cell is known by its grade_id, whatever its type and flags say (nbgrader restores both from the
    assignment): a test cell's id is where its check stands, a solution cell's id is the student's code
    (run even if made a text cell), another id of the assignment is the instructor's and never runs."""
    wanted = [c.name for c in CHECKS] if checks is None else list(checks)
    result = Plan()
    cells = deduplicate([_dict(c) for c in notebook.get("cells", [])])
    instructor = set(TEST_CELLS)
    if release is not None:
        instructor |= {grade_id(c) for c in release["cells"]} - {None} - set(SOLUTION_CELLS)
        copied = {"cells": list(cells)}
        if not any(grade_id(c) for c in cells) and reattach_metadata(copied, release):
            result.notes.append("the notebook had lost nbgrader's cell metadata: the grader recognised its cells by "
                                "their text (the solution cells by what they define)")
        restored = restore_deleted_cells(copied, release)
        cells = copied["cells"]
        if restored:
            result.notes.append(f"cells of the assignment missing from the notebook were put back for grading: "
                                f"{', '.join(restored)}")
    placed = set()
    for position, cell in enumerate(cells, start=1):
        gid, source = grade_id(cell), _text(cell.get("source"))
        if gid in TEST_CELLS:
            name = TEST_CELLS[gid]
            if name in wanted and name not in placed:
                result.steps.append(("check", name))
                placed.add(name)
            continue
        if gid in instructor or (gid not in SOLUTION_CELLS and cell.get("cell_type") != "code") or not source.strip():
            continue
        result.steps.append(("cell", _student_cell(position, gid, source)))
    for name in wanted:
        if name not in placed:
            result.steps.append(("check", name))
            result.notes.append(f"the test cell of {name} is missing from the notebook: the check ran after all "
                                f"your cells")
    _note_missing_solutions(result, cells)
    return result


def _student_cell(position: int, gid: str | None, source: str) -> StudentCell:
    source = without_magics(source)
    found, problem = statements(source)
    task = next((task for _, (task, _, name) in SOLUTION_CELLS.items() if defines(source, name)), None)
    if gid in SOLUTION_CELLS:
        name, kind, task = gid, "solution", SOLUTION_CELLS[gid][0]
    else:
        name, kind = f"cell {position}", "added"
    return StudentCell(name, kind, task, position, found, problem, source)


def _note_missing_solutions(result: Plan, cells: list) -> None:
    for gid, (_, definition, name) in SOLUTION_CELLS.items():
        if any(defines(cell.source, name) for cell in result.cells):
            continue
        result.missing.append(gid)
        if any(grade_id(c) == gid and c.get("cell_type") != "code" for c in cells):
            result.notes.append(f"the solution cell '{gid}' is not a code cell: in Jupyter, select it and change its "
                                f"type back to Code (Cell > Cell Type > Code, or press Y).")
        elif not any(grade_id(c) == gid for c in cells):
            result.notes.append(f"no cell of the notebook defines {name}: the solution cell '{gid}' ({definition}: "
                                f"...) is missing. Was it deleted? Copy it back from the released notebook.")
