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

A cell is read as IPython reads it (ipython_cells.py): its statements are the top-level nodes of the Python
IPython runs for it, parsed with IPython's compiler flags and the __future__ features the cells above set.
"""

import ast
import copy
from dataclasses import dataclass, field

from lab2a.autograder.checks.manifest import CHECKS
from lab2a.autograder.grading.ipython_cells import IPYTHON_FLAGS, defines, future_flags, magic_of, python_lines, read

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


# ---- the cells -----------------------------------------------------------------------------------------------

@dataclass
class StudentCell:
    name: str            # "train", "convolutional_filter" or "cell 24" (its position in the notebook)
    kind: str            # "solution" or "added"
    task: str | None     # "train" / "filter": the solution the cell holds, if any
    position: int        # 1-based position among all the notebook's cells
    statements: list
    problem: str | None = None   # why the cell can't run at all (a syntax error)
    source: str = ""     # the Python IPython runs for it (ipython_source); the worker parses it again
    flags: int = IPYTHON_FLAGS   # the compiler flags in force when it starts (__future__ imports above it)
    text: str = ""       # the cell's text, as the student wrote it

    @property
    def label(self) -> str:
        if self.kind == "solution":
            return f"the cell '{self.name}'"
        first = next((line.strip() for line in python_lines(self.text) if line.strip()), "")
        return f"your cell {self.position} (`{first[:40]}{'...' if len(first) > 40 else ''}`)"

    def defined_names(self) -> set[str]:
        """The names the cell's top-level definitions bind."""
        names = set()
        for node in (statement.node for statement in self.statements):
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
    placed, flags = set(), IPYTHON_FLAGS
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
        student = _student_cell(position, gid, source, flags)
        flags = future_flags(ast.Module([s.node for s in student.statements if s.runs], []), flags)
        result.steps.append(("cell", student))
    for name in wanted:
        if name not in placed:
            result.steps.append(("check", name))
            result.notes.append(f"the test cell of {name} is missing from the notebook: the check ran after all "
                                f"your cells")
    _note_missing_solutions(result, cells)
    return result


def _student_cell(position: int, gid: str | None, text: str, flags: int) -> StudentCell:
    source, found, problem = read(text, flags)
    task = next((task for _, (task, _, name) in SOLUTION_CELLS.items() if defines(text, name)), None)
    if gid in SOLUTION_CELLS:
        name, kind, task = gid, "solution", SOLUTION_CELLS[gid][0]
    else:
        name, kind = f"cell {position}", "added"
    return StudentCell(name, kind, task, position, found, problem, source, flags, text)


def _note_missing_solutions(result: Plan, cells: list) -> None:
    for gid, (_, definition, name) in SOLUTION_CELLS.items():
        if any(defines(cell.text, name) for cell in result.cells):
            continue
        result.missing.append(gid)
        if any(grade_id(c) == gid and c.get("cell_type") != "code" for c in cells):
            result.notes.append(f"the solution cell '{gid}' is not a code cell: in Jupyter, select it and change its "
                                f"type back to Code (Cell > Cell Type > Code, or press Y).")
        elif (magic := magic_of(next((_text(c.get("source")) for c in cells if grade_id(c) == gid), ""))):
            result.notes.append(f"the solution cell '{gid}' starts with the cell magic %%{magic}: IPython runs the "
                                f"cell through it and keeps none of its definitions, so {name} is never defined. "
                                f"Remove that line (%%time and %%capture keep them).")
        elif not any(grade_id(c) == gid for c in cells):
            result.notes.append(f"no cell of the notebook defines {name}: the solution cell '{gid}' ({definition}: "
                                f"...) is missing. Was it deleted? Copy it back from the released notebook.")
