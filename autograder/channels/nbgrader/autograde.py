"""nbgrader's autograde step, done by the sandboxed grader: GradeInSandbox takes the place of nbgrader's
Execute (nbgrader_config.py), so plain `nbgrader autograde lab2a` uses it.

No kernel starts and nothing of the notebook runs in nbgrader's process: the notebook goes to
grading/grade.py (the student's cells in the sandbox, every verdict decided in this process), and each
test cell's output is written from its check's result, in the form nbgrader's own grading reads:
  * every point: a line on stdout ("✓ ...") -> full points;
  * some points: a line per part on stdout, then the points as the cell's result -> partial credit;
  * no point: an error whose text is the message -> 0.
So nbgrader's gradebook, feedback, formgrader and export hold exactly `lab2a grade`'s points per check.
A solution cell whose statements failed while grading gets a note saying so, for the feedback.

The notebook's metadata "lab2a" is the grader's: whatever the student wrote there (or under "lab2a_intake",
where older versions marked stand-ins) is replaced. Whether the notebook is the intake's stand-in is read
from the course's record (records.py), never from the notebook.
"""


from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float

from lab2a.autograder.channels.nbgrader import records
from lab2a.autograder.checks.manifest import check
from lab2a.autograder.grading.layout import TEST_CELLS, grade_id
from lab2a.autograder.grading.limits import Limits
from lab2a.autograder.grading.reaching import PROPERTY_CHECKS
from lab2a.autograder.grading.report import METADATA, REVIEW_TITLE, Report, check_lines, printable, review_lines

OLD_MARK = "lab2a_intake"   # older versions' stand-in mark: in a notebook now, only ever the student's


def outputs(test, review: list = ()) -> list:
    """The test cell's outputs for a check's result (grading/report.TestResult); review: findings for the TA
    (grading/reaching.py), added as lines after the result (they change no points)."""
    lines = check_lines(test)
    if review:
        lines += [f"{REVIEW_TITLE}:"] + [f"  - {line}" for line in review_lines(review)]
    if test.status in ("pass", "skipped"):
        return [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n")]
    if test.score > 0:
        return [nbformat.v4.new_output("stream", name="stdout", text="\n".join(lines) + "\n"),
                nbformat.v4.new_output("execute_result", data={"text/plain": str(test.score)}, execution_count=1)]
    return [nbformat.v4.new_output("error", ename="CheckFailed", evalue=printable(test.message), traceback=lines)]


def fill(notebook, report: Report, stand_in: records.StandIn | None = None) -> None:
    """Write the report into the notebook: each check's test cell, and notes on the cells that failed;
    stand_in: the intake's record, when the notebook is the stand-in it wrote."""
    tests = {t.name: t for t in report.tests}
    notes = {c["name"]: c["message"] for c in report.cells if c["status"] != "ok"}
    count = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        name = TEST_CELLS.get(grade_id(cell))
        if name in tests:
            count += 1
            cell.outputs = outputs(tests[name], report.review if name in PROPERTY_CHECKS else ())
            cell.execution_count = count
        elif grade_id(cell) in notes:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=printable(f"While grading: {notes[grade_id(cell)]}\n"))]
    # the full report (grading/report.py, as `lab2a grade --json` writes it) stays with the TA: the autograded
    # notebook is not sent to students (feedback pages don't show notebook metadata); `lab2a report` reads it
    notebook.metadata.pop(OLD_MARK, None)
    notebook.metadata[METADATA] = {"score": report.score, "max_score": report.max_score, "sandbox": report.sandbox,
                                   "notes": [printable(note) for note in report.notes], "report": report.to_dict(),
                                   "stand_in": None if stand_in is None else
                                   {"problem": printable(stand_in.problem), "kept": stand_in.kept}}


class GradeInSandbox(NbGraderPreprocessor):
    """Grades the notebook with the sandboxed grader instead of executing it (enabled by default)."""

    timeout = Float(Limits.timeout, help="seconds the student's code gets per cell and per check").tag(config=True)
    memory_gib = Float(Limits.memory / 2 ** 30, help="GiB of address space for the student's code").tag(config=True)

    def preprocess(self, nb, resources):
        # (imported here: the course's nbgrader_config.py imports this module for every nbgrader command, and the
        # grader loads torch, seconds that generate_assignment, generate_feedback or export have no use for)
        from lab2a.autograder.grading.grade import grade_notebook

        student = resources.get("nbgrader", {}).get("student", "")
        limits = Limits(timeout=self.timeout, memory=int(self.memory_gib * 2 ** 30))
        report = grade_notebook(nb, f"{student}/{resources.get('unique_key', 'lab2a')}", limits=limits)
        fill(nb, report, self._stand_in(resources))
        if not report.confined:
            self.log.warning("the student's code was NOT fully confined while graded: %s",
                             "; ".join(f"{k}: {v}" for k, v in report.sandbox.items() if k != "confined"))
        self.log.info("%s: %s / %s (%s)", student, report.score, report.max_score,
                      ", ".join(f"{t.name} {t.score}/{t.max_score}" for t in report.tests if check(t.name).points))
        return nb, resources

    def _stand_in(self, resources) -> records.StandIn | None:
        """The intake's record of a stand-in, if the submitted notebook is (still) the one it wrote."""
        from nbgrader.coursedir import CourseDirectory

        where = resources.get("nbgrader", {})
        if not all(isinstance(where.get(key), str) for key in ("student", "assignment", "notebook")):
            return None
        converter = getattr(self.parent, "parent", None)   # the exporter's converter: nbgrader's Autograde
        directory = getattr(converter, "coursedir", None)
        directory = directory if isinstance(directory, CourseDirectory) else CourseDirectory(parent=self)
        submitted = Path(directory.format_path(directory.submitted_directory, where["student"], where["assignment"]))
        return records.stand_in(Path(directory.root), where["assignment"], where["student"],
                                submitted / f"{where['notebook']}.ipynb")


class RestoreCellFlags(NbGraderPreprocessor):
    """Before nbgrader's OverwriteCells (nbgrader_config.py puts it after DeduplicateIds): every cell of the
    assignment gets back the flags the assignment gave it (grade, solution, locked, points). nbgrader puts
    back a changed test cell's text but not a flag a student changed, and then fails on the checksum;
    and a copy that DeduplicateIds cleared keeps an empty nbgrader entry, on which add_missing_cells
    fails: it becomes a plain cell. So a student's edit of metadata can't stop nbgrader, and the cells
    mean for nbgrader what they mean for `lab2a grade` (grading/layout.py)."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"])
            points = {cell.name: cell.max_score for cell in notebook.grade_cells}
            solutions = {cell.name for cell in notebook.solution_cells}
            locked = {cell.name: cell.locked for cell in notebook.source_cells}
        for cell in nb.cells:
            marks = cell.metadata.get("nbgrader")
            if marks is not None and not (isinstance(marks, dict) and isinstance(marks.get("grade_id"), str)
                                          and marks["grade_id"]):
                del cell.metadata["nbgrader"]
            elif marks is not None and marks["grade_id"] in locked:
                gid = marks["grade_id"]
                marks["grade"], marks["solution"], marks["locked"] = gid in points, gid in solutions, locked[gid]
                if gid in points:
                    marks["points"] = points[gid]
                else:
                    marks.pop("points", None)
        return nb, resources
