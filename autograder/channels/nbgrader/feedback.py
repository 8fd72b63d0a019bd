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


# The checks' messages are long lines in preformatted output blocks; at a normal window width the end of a
# line (the part that says what went wrong) ran off the block's right edge. They wrap within it instead.
WRAPPED_OUTPUT = """
div.output_area pre, div.output_subarea pre, div.output_text pre {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}
"""


class WrapLongLines(NbGraderPreprocessor):
    """After nbconvert's CSSHTMLHeaderPreprocessor: the feedback page's style wraps output lines."""

    def preprocess(self, nb, resources):
        resources.setdefault("inlining", {}).setdefault("css", []).append(WRAPPED_OUTPUT)
        return nb, resources
