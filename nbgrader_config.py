"""nbgrader's configuration for this course: run every nbgrader command from this folder.

Layout: source/lab2a/lab2a.ipynb (instructor) -> release/lab2a/ (students) ->
submitted/<student>/lab2a/ -> autograded/<student>/lab2a/ -> feedback/<student>/lab2a/; grades in
gradebook.db. The notebook finds its data through the lab2a package (data/data_lab_2A.pt or
$LAB2A_DATA), from whatever folder nbgrader runs it in.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from lab2a.autograder.feedback import ClearHiddenTracebacks

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

# Time limits per cell. In grading mode (NBGRADER_EXECUTION) the heavy cells train briefly, but a slow
# student implementation still needs room: 2 minutes for cells that train or build data, 60 s for the
# rest (a check is a few seconds; an infinite loop is cut off there and the cell scores 0).
HEAVY_CELLS = ("build(", "train(", "optimal_filter(")


def cell_timeout(cell):
    return 120 if any(marker in cell.source for marker in HEAVY_CELLS) else 60


c.Execute.timeout = 60
c.Execute.timeout_func = cell_timeout

# A deleted test cell is put back (and graded) instead of leaving the cell to manual grading.
c.OverwriteCells.add_missing_cells = True

# Feedback that reaches students must not contain the hidden tests: nbgrader's default keeps them in the
# source, and a failed hidden cell's traceback quotes them.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTracebacks, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
