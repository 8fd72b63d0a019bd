"""nbgrader's configuration for this course: run every nbgrader command from this folder.

Layout: source/lab2a/lab2a.ipynb (instructor) -> release/lab2a/ (students) ->
submitted/<student>/lab2a/ -> autograded/<student>/lab2a/ -> feedback/<student>/lab2a/; grades in
gradebook.db. Grading needs no data set: the checks make their own inputs.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds, Execute, GetGrades

from lab2a.autograder.channels.nbgrader.autograde import GradeInSandbox, RestoreCellFlags
from lab2a.autograder.channels.nbgrader.feedback import KeepStudentMarkersOut, RenderFormulas, WrapLongLines
from lab2a.autograder.channels.nbgrader.validate import use_sandbox

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# The student's stub in every solution region.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Grading: nbgrader's Execute is replaced by the sandboxed grader (autograder/channels/nbgrader/
# autograde.py). No kernel starts and the student's code never runs in nbgrader's process: the
# notebook's cells run in a confined worker, every verdict is decided by the grader, and each test cell's
# output is written from it, so `nbgrader autograde lab2a` gives exactly `lab2a grade`'s points.
c.Autograde.autograde_preprocessors = [
    GradeInSandbox if step is Execute else step
    for step in Autograde.class_traits()["autograde_preprocessors"].default()]
c.GradeInSandbox.timeout = 20       # seconds per cell and per check
c.GradeInSandbox.memory_gib = 4     # address space for the student's code

# A deleted test cell is put back (and graded) instead of leaving the cell to manual grading. Before
# nbgrader overwrites the cells, the cells of the assignment get back their flags (a student may change
# them; nbgrader would then fail on that notebook), and copies DeduplicateIds cleared become plain cells.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    step for default in Autograde.class_traits()["sanitize_preprocessors"].default()
    for step in ((default, RestoreCellFlags) if default is DeduplicateIds else (default,))]

# Feedback that reaches students must not contain the hidden tests (nbgrader's default keeps them), a
# student's cell quoting nbgrader's hidden-test marker must not stop their feedback, its formulas are drawn
# into the page (MathJax comes from a CDN: offline they would read as raw LaTeX), and the checks' long
# messages wrap within the page.
c.GenerateFeedback.preprocessors = [GetGrades, KeepStudentMarkersOut, RenderFormulas, ClearHiddenTests,
                                    CSSHTMLHeaderPreprocessor, WrapLongLines]

# Validate (`nbgrader validate`, the Assignments tab's button): the visible checks in the sandbox, as
# `lab2a check` (autograder/channels/nbgrader/validate.py), not the whole notebook in the student's kernel.
use_sandbox()
