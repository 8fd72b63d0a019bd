"""nbgrader's feedback must reach every student, show no hidden test, and read the same offline.

The hidden tests never run in the feedback's notebook: their cells hold the sandboxed grader's verdicts
(autograde.py), and nbgrader's ClearHiddenTests removes their code. What could still go wrong is a
student's own cell that contains nbgrader's marker text ("### BEGIN HIDDEN TESTS"): ClearHiddenTests
refuses such a cell, and generate_feedback then fails for that student. This step, run before it,
keeps the student's text but breaks the marker in cells that are not the instructor's test cells.

The feedback page loads MathJax from a CDN to typeset the lab's formulas; offline (or where the CDN is
blocked) they would show as raw LaTeX. RenderFormulas draws each one into the page instead, as an SVG image
(Matplotlib's mathtext, which the lab installs anyway) whose alt text is the LaTeX.
"""

import base64
import html
import io
import re

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


# $$display$$ or $inline$ (no line break, no $ inside), as Jupyter's Markdown reads them; not a \$
FORMULA = re.compile(r"(?<![\\$])\$\$(?P<display>[^$]+?)\$\$|(?<![\\$])\$(?P<inline>[^$\n]+?)\$(?!\$)")
MAX_FORMULA = 500   # characters: a longer one (a student's text) is left to MathJax


def formula_image(tex: str, display: bool) -> str | None:
    """An <img> of the formula (SVG, inline in the page), or None when mathtext can't draw it."""
    import matplotlib
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    if len(tex) > MAX_FORMULA:
        return None
    out = io.BytesIO()
    try:
        # the glyphs as paths (no font needed to read it); ids from a fixed salt, not a random one
        with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "lab2a"}):
            depth = mathtext.math_to_image(f"${tex.strip()}$", out, prop=FontProperties(size=12), dpi=72,
                                           format="svg")
    except Exception:   # noqa: BLE001  (LaTeX mathtext doesn't know: left as it was)
        return None
    # without its metadata (the moment it was drawn): the same page each time feedback is generated
    svg = re.sub(rb"<metadata>.*?</metadata>\s*", b"", out.getvalue(), flags=re.S)
    source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    image = (f'<img class="lab2a-formula" src="{source}" alt="{html.escape(tex.strip())}" '
             f'style="vertical-align: -{depth:.0f}px; display: inline">')
    return f'<div style="text-align: center">{image}</div>' if display else image


def render_formulas(markdown: str) -> str:
    """The Markdown with each formula it can draw replaced by its image (code spans and blocks left alone)."""
    parts = re.split(r"(```.*?```|`[^`\n]*`)", markdown, flags=re.S)   # odd items: code
    for index in range(0, len(parts), 2):
        def draw(match):
            display = match.group("display") is not None
            return formula_image(match.group("display" if display else "inline"), display) or match.group(0)
        parts[index] = FORMULA.sub(draw, parts[index])
    return "".join(parts)


class RenderFormulas(NbGraderPreprocessor):  # (enabled by default, unlike nbconvert's)
    """The Markdown cells' formulas as images, in the feedback's copy only."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and "$" in cell.source:
            cell.source = render_formulas(cell.source)
        return cell, resources
