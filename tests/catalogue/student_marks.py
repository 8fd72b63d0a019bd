"""Catalogue entries: marks a student writes where the grader writes its own: one student never stops a class.

Each used to stop `lab2a autograde` for the whole class (the intake raised), or nbgrader for this student or
for every student after them, or to have the student's text printed as the grader's reason. Each now gets
the points its honest part deserves (tests/test_student_marks.py tries the same attacks one by one, and
fuzzes them).
"""

import json
import os
from pathlib import Path

import nbformat

from .. import implementations as I
from ..submissions import CORRECT_FILTER, CORRECT_TRAIN, Submission, _nb, grade_id, notebook, points, write

FORGED = "GRADER: plagiarism detected, grade withheld"
WRAPS_AROUND = I.BUGGY_FILTERS["roll without zeroing"][0]


def _mark(value):
    """The stand-in mark older versions trusted (notebook metadata "lab2a_intake"); with a mapping, a cell of
    nbgrader metadata from the future, which the repairs the mark skipped would have set back."""
    def edit(nb):
        nb.metadata["lab2a_intake"] = value
        if isinstance(value, dict):
            next(c for c in nb.cells if grade_id(c) == "train").metadata["nbgrader"]["schema_version"] = 4
    return edit


def _forged_report(nb):
    """The grader's own metadata key, filled in by the student: full marks, and a stand-in's reason."""
    nb.metadata["lab2a"] = {"score": 22, "max_score": 22, "stand_in": {"problem": FORGED, "kept": None},
                            "report": {"score": 22, "tests": []}, "sandbox": {"confined": True}}


def _delete_written_answer(nb):
    """nbgrader's add_missing_cells stops (KeyError) on a deleted written answer: it looks for the question
    before it among graded and solution cells only."""
    nb.cells = [c for c in nb.cells if grade_id(c) != "answer_fcnn"]


def _markdown_test_cell_with_an_attachment(nb):
    """A test cell made a text cell holding an image: nbgrader's OverwriteCells makes it a code cell again and
    stops on it (a code cell can't have attachments)."""
    cell = next(c for c in nb.cells if grade_id(c) == "test_filter_impulse")
    cell.cell_type, cell.source = "markdown", "![plot](attachment:plot.png)"
    cell.pop("outputs"), cell.pop("execution_count")
    cell.attachments = {"plot.png": {"image/png": "iVBORw0KGgo="}}


def _json_edit(edit):
    """A correct notebook whose JSON is changed by edit(data) where nbformat would refuse to write it."""
    def build(folder: Path) -> None:
        data = json.loads(nbformat.writes(notebook(CORRECT_TRAIN, CORRECT_FILTER)))
        edit(data)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "lab2a.ipynb").write_text(json.dumps(data), encoding="utf-8")
    return build


def _cell_type_a_list(data):
    """An added cell whose type is a list: the intake's rebuild raised TypeError, for the whole class."""
    data["cells"].append({"cell_type": [], "metadata": {}, "source": "NOTE = 1\n"})


def _metadata_of_wrong_types(data):
    """Cell metadata of the wrong types (nbformat's schema): the intake's rebuild raised for the whole class."""
    text = next(c for c in data["cells"] if c["cell_type"] == "markdown")
    text["metadata"].update(collapsed=None, tags="not a list", jupyter=["x"])


def _surrogate_in_a_key(data):
    """A lone surrogate in a metadata key: the repaired notebook couldn't be written, for the whole class."""
    data["metadata"]["caf\udce9"] = 1
    train = next(c for c in data["cells"] if grade_id(c) == "train")
    train["metadata"]["nbgrader"]["points"] = 50   # a repair is needed: the notebook is written again


def _link_to_the_instructors_notebook(folder: Path) -> None:
    """lab2a.ipynb a link to where a course keeps the instructor's notebook, with its solutions
    (course/source/lab2a/, three folders up from submitted/<student>/lab2a/); the release, unanswered, renamed
    beside it. Followed, the link earned full marks; it is not a notebook (it may lead anywhere)."""
    write(notebook(), folder / "Lab 2A (final).ipynb")
    os.symlink("../../../source/lab2a/lab2a.ipynb", folder / "lab2a.ipynb")


def entries(escaped: Path, port: int, victim: Path) -> dict:
    return {
        "forged_stand_in_mark_a_string": Submission(
            "correct code; the notebook's metadata lab2a_intake is a string",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, _mark("stand-in"))),
        "forged_stand_in_mark_with_a_problem": Submission(
            "correct code; lab2a_intake a stand-in's mark with a problem of the student's; a schema_version 4 cell",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, _mark({"problem": FORGED}))),
        "forged_stand_in_mark_on_buggy_code": Submission(
            "a filter that wraps around; lab2a_intake a stand-in's mark with a problem of the student's",
            _nb(CORRECT_TRAIN, WRAPS_AROUND, _mark({"problem": FORGED})),
            points(filter_outputs=0, filter_impulse=1, filter_gradient=1, hidden_filter=0)),
        "forged_grader_report": Submission(
            "a filter that wraps around; the notebook's metadata lab2a claims full marks and a stand-in",
            _nb(CORRECT_TRAIN, WRAPS_AROUND, _forged_report),
            points(filter_outputs=0, filter_impulse=1, filter_gradient=1, hidden_filter=0)),
        "deleted_written_answer": Submission("correct code; a written answer's cell deleted",
                                             _nb(CORRECT_TRAIN, CORRECT_FILTER, _delete_written_answer)),
        "test_cell_made_markdown_with_an_attachment": Submission(
            "correct code; a test cell made a text cell with an image attached",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, _markdown_test_cell_with_an_attachment)),
        "cell_type_a_list": Submission("correct code; an added cell whose cell_type is a list",
                                       _json_edit(_cell_type_a_list)),
        "cell_metadata_of_wrong_types": Submission("correct code; a text cell's collapsed, tags and jupyter of "
                                                   "the wrong types", _json_edit(_metadata_of_wrong_types)),
        "surrogate_in_a_metadata_key": Submission("correct code; a lone surrogate in a notebook metadata key, "
                                                  "the train cell worth 50 points", _json_edit(_surrogate_in_a_key)),
        "links_to_the_instructors_notebook": Submission(
            "lab2a.ipynb a link to the course's source notebook, the release unanswered renamed beside it",
            _link_to_the_instructors_notebook, points("none", "none")),
    }
