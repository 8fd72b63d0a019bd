"""What grading runs, and where each check stands (grading/layout.py): only the student's cells, only
their definitions, each check at its test cell as Restart & Run All meets it."""

import ast

import nbformat
import pytest

from lab2a.autograder.grading.ipython_cells import ipython_source, is_definition, statements
from lab2a.autograder.grading.layout import plan, reattach_metadata, restore_deleted_cells
from lab2a.autograder.sandbox.prelude import SETUP
from lab2a.autograder.sandbox.prelude import namespace as prelude_namespace

from . import implementations as I
from . import submissions as S


def release():
    return nbformat.read(S.RELEASE, as_version=4)


def steps(nb) -> list[str]:
    return [f"check {item}" if kind == "check" else f"cell {item.name}" for kind, item in plan(nb, release()).steps]


@pytest.mark.parametrize("source, runs", [
    ("import math", True), ("from torch import nn", True), ("def f():\n    return 1", True),
    ("@staticmethod\ndef f():\n    pass", True), ("class A:\n    x = 1", True), ("TAPS = 81", True),
    ("WINDOW = np.hanning(81)", True), ("x: int = 3", True), ("n += 1", True), ('"""a docstring"""', True),
    ("try:\n    from tqdm.auto import tqdm\nexcept ImportError:\n    tqdm = list", True),
    ("if torch.cuda.is_available():\n    DEVICE = 'cuda'\nelse:\n    DEVICE = 'cpu'", True),
    ("with torch.no_grad():\n    W = torch.zeros(3)", True),
    ("print('hi')", False), ("plt.plot([1, 2])", False), ("assert 1 == 2", False),
    ("for i in range(3):\n    pass", False),
    ("while True:\n    pass", False), ("train(model, loader, opt, loss, 50, 'cpu')", False), ("del x", False),
    ("try:\n    while True:\n        pass\nexcept:\n    pass", False), ("if True:\n    print(1)", False),
])
def test_only_definitions_run(source, runs):
    assert is_definition(ast.parse(source).body[0]) is runs


def test_statements_keep_their_lines_decorators_and_neighbours():
    found, problem = statements("import torch; print(1)\n\n@decorate\ndef f():\n    return 1\nf()\n")
    assert problem is None
    assert [(s.index, s.line, s.text, s.runs) for s in found] == [
        (0, 1, "import torch", True), (1, 1, "print(1)", False), (2, 3, "@decorate", True), (3, 6, "f()", False)]
    assert statements("def (")[1].startswith("has a SyntaxError at line 1")


def test_ipython_magics_become_the_calls_ipython_makes():
    source = ipython_source("%matplotlib inline\nimport numpy")
    assert source == "get_ipython().run_line_magic('matplotlib', 'inline')\nimport numpy\n"
    assert [s.runs for s in statements(source)[0]] == [False, True]
    assert ipython_source("import numpy") == "import numpy\n"


def test_each_check_stands_at_its_test_cell_among_the_students_cells():
    nb = S.notebook(I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"],
                    S.then(S.add_cells_after("test_hidden_train", "def helper():\n    pass"),
                           S.add_cells_after("", "LATE = 1")))
    assert steps(nb) == [
        "cell train", "check train_trajectory", "check train_device", "check hidden_train", "cell cell 16",
        "cell convolutional_filter", "check filter_structure", "check filter_outputs", "check filter_impulse",
        "check filter_gradient", "check filter_device", "check filter_cuda", "check filter_convergence",
        "check hidden_filter", "cell cell 48"]


def test_a_deleted_test_cell_stands_where_nbgrader_puts_it_back():
    nb = S.notebook(I.TRAIN_ZERO_GRAD_FIRST, None, S.then(S.delete_cell("train_tests_intro"),
                                                        S.delete_cell("test_train_trajectory")))
    placed = steps(nb)
    assert placed[:3] == ["cell train", "check train_trajectory", "check train_device"]
    assert "put back for grading: train_tests_intro, test_train_trajectory" in plan(nb, release()).notes[0]


def test_a_notebook_stripped_of_its_metadata_is_recognised_by_its_text():
    nb = S.notebook(I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"], S.strip_nbgrader_metadata)
    assert steps(nb) == steps(S.notebook(I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"]))
    copy = {"cells": [dict(c) for c in nb.cells]}
    given = reattach_metadata(copy, release())
    assert "train" in given and "test_filter_outputs" in given and "setup" in given


def test_a_written_answer_stripped_of_its_metadata_is_found_after_its_question():
    """The student's answer has its own text: it is the text cell right after its question, and never a
    cell elsewhere (a text cell the student added above the question)."""
    def answer(nb):
        for cell in nb.cells:
            if S.grade_id(cell) == "answer_fcnn":
                cell.source = "It hisses; far too many weights for 1,400 clips."
        nb.cells.insert(0, nbformat.v4.new_markdown_cell("my notes"))
    nb = S.notebook(edit=S.then(answer, S.strip_nbgrader_metadata))
    copy = {"cells": [dict(c) for c in nb.cells]}
    given = reattach_metadata(copy, release())
    assert "answer_fcnn" in given and "answer_filter" in given
    by_id = {S.grade_id(c): c for c in copy["cells"]}
    assert by_id["answer_fcnn"]["source"] == "It hisses; far too many weights for 1,400 clips."
    assert by_id["answer_filter"]["source"] == "YOUR ANSWER HERE"
    assert copy["cells"][0]["source"] == "my notes" and S.grade_id(copy["cells"][0]) is None


def test_restoring_puts_each_cell_after_the_one_it_followed():
    nb = S.notebook(edit=S.then(S.delete_cell("intro"), S.delete_cell("setup"), S.delete_cell("test_filter_device")))
    assert restore_deleted_cells(nb, release()) == ["intro", "setup", "test_filter_device"]
    ids = [S.grade_id(c) for c in nb.cells]
    assert ids == [S.grade_id(c) for c in release().cells]


def test_a_missing_solution_cell_is_named():
    missing = plan(S.notebook(edit=S.delete_cell("train")), release())
    assert missing.missing == ["train"]
    assert any("no cell of the notebook defines train" in note and "Was it deleted?" in note for note in missing.notes)


def test_the_prelude_defines_every_name_of_the_release_setup_cell():
    setup = next(c for c in release().cells if S.grade_id(c) == "setup")
    names = set()
    for node in ast.walk(ast.parse(setup.source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    defined = {name for name in prelude_namespace() if not name.startswith("__")}
    assert defined == names | {"F"}, defined ^ (names | {"F"})
    assert {"F", "nn", "np", "torch"} <= defined and "NotImplementedError" not in SETUP
