"""nbgrader's configuration for this course: run every nbgrader command from this folder.

Layout: source/lab2a/lab2a.ipynb (instructor) -> release/lab2a/ (students) ->
submitted/<student>/lab2a/ -> autograded/<student>/lab2a/ -> feedback/<student>/lab2a/; grades in
gradebook.db. Grading needs no data set: the checks make their own inputs.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from lab2a.autograder.channels.nbgrader.autograde_cells import RunOnlyGradedCode
from lab2a.autograder.channels.nbgrader.feedback import ClearHiddenTracebacks

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

# While grading, nbgrader runs what `lab2a grade` runs: the solution cells, the student's cells of
# definitions and the test cells; the lab's own cells (data, training, plots) are left unexecuted
# (RunOnlyGradedCode), so they cost no time and an endless loop can only cost the checks.
c.Autograde.autograde_preprocessors = [RunOnlyGradedCode,
                                       *Autograde.class_traits()["autograde_preprocessors"].default()]

# Each kernel autograde starts, before the notebook's first cell (validate's are left as they are):
# the student's code may write files only inside its submission folder and can't signal nbgrader
# (Linux Landlock, where the system has it), os._exit is refused, files are capped at 256 MiB, and the
# setup's names come from the grader's copy. See grading_kernel.py.
c.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=import lab2a.autograder.channels.nbgrader.grading_kernel as _grading; "
    "_grading.start(get_ipython()); del _grading"]

# Time limit per cell: a check stops the student's code after 20 s itself (an endless loop then fails
# that check only); 60 s leaves room for the check's own work and for a solution cell's top level.
c.Execute.timeout = 60

# A deleted test cell is put back (and graded) instead of leaving the cell to manual grading.
c.OverwriteCells.add_missing_cells = True

# Feedback that reaches students must not contain the hidden tests: nbgrader's default keeps them in the
# source, and a failed hidden cell's traceback quotes them.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTracebacks, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
