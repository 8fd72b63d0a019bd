"""What students get back from nbgrader must not show the hidden tests.

nbgrader's ClearHiddenTests removes the hidden region from a test cell's source, but when that cell
failed, its error traceback still quotes the cell's lines, hidden ones included. This step, run
before ClearHiddenTests, keeps only the error's last line (the check's message) in such cells.
"""

from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


class ClearHiddenTracebacks(NbGraderPreprocessor):  # (enabled by default, unlike nbconvert's)
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
