"""nbgrader's Validate (the Assignments tab's button and `nbgrader validate`), done by the sandboxed grader
with the visible checks, as `lab2a check` does.

nbgrader's Validator runs the notebook top to bottom in the student's kernel (the lab's data set and its
training included, about half a minute) and judges the test cells in the student's own process. Here its
Execute step is replaced by CheckInSandbox: the student's cells run in the sandbox, the visible checks are
decided in the grader's process, and each test cell's output is written from its check's result in the
form nbgrader reads (autograde.outputs). So Validate answers in seconds, needs no data set, and its
"failed" cells are exactly the visible checks `lab2a check` fails, each with its message. For the Validator,
which prints a failed cell's errors and stderr (and for partial credit nothing but "Partial credit"), a check
short of its points gets its lines as stderr, wrapped to the Validator's width (it cuts longer lines).

nbgrader's Validator takes its steps from a list it does not read from configuration; `use_sandbox()`,
called from an nbgrader_config.py (the course's, and the hub's global one), sets that list's default.
"""

import textwrap

import nbformat
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float

from lab2a.autograder.channels.nbgrader.autograde import fill
from lab2a.autograder.grading.fork_server import start_early
from lab2a.autograder.grading.limits import Limits


class CheckInSandbox(NbGraderPreprocessor):
    """The visible checks, sandboxed, in place of nbgrader's Execute while validating (enabled by default)."""

    timeout = Float(Limits.timeout, help="seconds the student's code gets per cell and per check").tag(config=True)
    memory_gib = Float(Limits.memory / 2 ** 30, help="GiB of address space for the student's code").tag(config=True)

    def preprocess(self, nb, resources):
        # (the grader, torch with it, is imported when a notebook is validated, not when the config is read)
        from lab2a.autograder.grading.grade import grade_notebook

        limits = Limits(timeout=self.timeout, memory=int(self.memory_gib * 2 ** 30))
        report = grade_notebook(nb, "validate", hidden=False, limits=limits)
        fill(nb, report)
        hidden_cells(nb, report)
        width = max(40, getattr(self.parent, "width", 90) - len(getattr(self.parent, "indent", "    ")) - 3)
        for cell in nb.cells:
            if cell.cell_type == "code" and any(o.output_type in ("error", "execute_result") for o in cell.outputs):
                cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=wrapped(cell.outputs, width))]
        return nb, resources


def hidden_cells(nb, report) -> None:
    """The hidden checks' cells, which Validate doesn't run (in a kernel their cell says which task to finish
    first, lab_cells.require): an error naming the task while none of its visible checks earns a point, else
    a line saying when they run."""
    from lab2a.autograder.channels.lab_cells import TASKS
    from lab2a.autograder.checks.manifest import check
    from lab2a.autograder.grading.layout import SOLUTION_CELLS, TEST_CELLS, grade_id

    earned = {}
    for test in report.tests:
        if test.max_score:
            earned[test.task] = earned.get(test.task, 0) + test.score
    names = {task: name for task, _, name in SOLUTION_CELLS.values()}   # task -> the name its cell defines
    for cell in nb.cells:
        name = TEST_CELLS.get(grade_id(cell)) if cell.cell_type == "code" else None
        if name is None or check(name).visible:
            continue
        task = check(name).task
        if earned.get(task, 0) > 0:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text="Hidden checks run when your notebook is graded.\n")]
        else:
            cell.outputs = [nbformat.v4.new_output(
                "error", ename="Unfinished", evalue="", traceback=[
                    f"Finish {TASKS[names[task]]} first: none of its visible checks earns a point yet (the hidden "
                    f"checks run when your notebook is graded)."])]


def wrapped(outputs: list, width: int) -> str:
    """A test cell's lines (its stream text, its error's traceback) as one text, no line over width."""
    lines = []
    for output in outputs:
        if output.output_type == "stream":
            lines += output.text.splitlines()
        elif output.output_type == "error":
            lines += output.traceback
    pieces = []
    for line in lines:
        indent = line[:len(line) - len(line.lstrip())]
        pieces += textwrap.wrap(line.strip(), width, initial_indent=indent, subsequent_indent=indent + "  ",
                                break_on_hyphens=False) or [""]
    return "\n".join(pieces) + "\n"


def use_sandbox() -> None:
    """Validator's steps from now on in this process: its own, with CheckInSandbox in place of Execute."""
    from nbgrader.apps.validateapp import ValidateApp
    from nbgrader.validator import Validator

    trait = Validator.class_traits()["preprocessors"]
    steps = [CheckInSandbox if step is Execute else step for step in trait.default()]
    trait.default_args = (steps,)   # (a List's default is made from its default_args, for each Validator)
    if trait.default() != steps or CheckInSandbox not in steps:
        raise RuntimeError("nbgrader's Validator no longer takes its steps from its `preprocessors` list")
    if _running(ValidateApp):   # `nbgrader validate`: the sandbox's fork server starts while nbgrader starts
        start_early(Limits())


def _running(app_class) -> bool:
    from traitlets.config import Application

    return Application.initialized() and isinstance(Application.instance(), app_class)
