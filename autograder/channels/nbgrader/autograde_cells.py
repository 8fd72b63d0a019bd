"""What nbgrader runs while it grades: the same code as `lab2a grade` (submission.py's rule), so both
channels grade the same thing and a slow or endless lab cell costs nothing.

Run: the solution cells, the test cells (and the ungraded GPU check), and the cells the student added
that hold only definitions (def, class, import, constants). Not run: the lab's own cells (loading data,
training, plots) and the student's other cells; their names come from the grader's copy of the setup
(grading_kernel.py). Such cells are tagged `skip-execution`, which nbclient leaves unexecuted: their
source stays as it was, so the feedback shows the whole notebook.
"""

from nbgrader.preprocessors import NbGraderPreprocessor

from lab2a.autograder.grading.submission import SOLUTION_CELLS, defines, only_definitions, without_magics

SKIP_TAG = "skip-execution"
RUN_WHILE_GRADING = ("gpu_check",)   # instructor cells that are not graded but check the student's code


def runs_while_grading(cell) -> bool:
    if cell.cell_type != "code":
        return False
    nbgrader = cell.metadata.get("nbgrader", {})
    if nbgrader.get("solution") or nbgrader.get("grade") or nbgrader.get("grade_id") in RUN_WHILE_GRADING:
        return True
    if nbgrader.get("grade_id"):
        return False  # the lab's own cells
    source = without_magics(cell.source)
    # a solution cell whose nbgrader metadata was stripped runs whole, as in `lab2a grade`
    return only_definitions(source) or any(defines(source, name) for _, _, name in SOLUTION_CELLS.values())


class RunOnlyGradedCode(NbGraderPreprocessor):  # (enabled by default, unlike nbconvert's)
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and not runs_while_grading(cell):
            tags = cell.metadata.setdefault("tags", [])
            if SKIP_TAG not in tags:
                tags.append(SKIP_TAG)
        return cell, resources
