"""nbgrader's feedback must reach every student and show no hidden test.

The hidden tests never run in the feedback's notebook: their cells hold the sandboxed grader's verdicts
(autograde.py), and nbgrader's ClearHiddenTests removes their code. What could still go wrong is a
student's own cell that contains nbgrader's marker text ("### BEGIN HIDDEN TESTS"): ClearHiddenTests
refuses such a cell, and generate_feedback then fails for that student. This step, run before it,
keeps the student's text but breaks the marker in cells that are not the instructor's test cells.
"""

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


class KeepStudentMarkersOut(NbGraderPreprocessor):  # (enabled by default, unlike nbconvert's)
    def preprocess_cell(self, cell, resources, index):
        if not utils.is_grade(cell):
            for marker in MARKERS:
                cell.source = cell.source.replace(marker, marker.replace(" ", "\u00a0", 1))
        return cell, resources
