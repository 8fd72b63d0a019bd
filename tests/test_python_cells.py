"""A student's cells read and run as IPython runs them (grading/ipython_cells.py, sandbox/worker.py): IPython's input
transformation, Python's parser and compiler, each top-level node compiled from the AST with the __future__
features in force; never text sliced with str.splitlines. Checked against a real IPython shell, fuzzed with
Hypothesis on the reference solutions, and run in the real sandbox."""

import ast
import io
import tokenize

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab2a.autograder.grading.ipython_cells import (
    IPYTHON_FLAGS,
    defines,
    ipython_source,
    is_magic,
    parse,
    python_lines,
    statements,
)
from lab2a.autograder.grading.layout import plan
from lab2a.autograder.grading.limits import Limits
from lab2a.autograder.grading.session import CellRun, Session

from . import implementations as I
from . import submissions as S
from .catalogue import python_cells as P

REFERENCE = {task: P._reference(task) for task in ("train", "convolutional_filter")}
RELEASE = nbformat.read(S.RELEASE, as_version=4)


def _plan(notebook):
    return plan(notebook, RELEASE)


def _cell(text: str, flags: int = IPYTHON_FLAGS):
    found, problem = statements(ipython_source(text), flags)
    assert problem is None, problem
    return found


def _running_names(text: str) -> set[str]:
    """The names the definitions of a cell bind, as the grader runs it."""
    names = set()
    for statement in _cell(text):
        node = statement.node
        if statement.runs and isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif statement.runs and isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


# ---- a real IPython, the reference for what Jupyter runs ------------------------------------------------------

@pytest.fixture(scope="module")
def ipython(tmp_path_factory):
    """A real IPython shell in this process (its history in memory, its folder a temporary one)."""
    import os

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    saved = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)

    def run(*cells: str) -> dict:
        """Run the cells in a fresh namespace; the names they defined (None if one failed)."""
        shell.reset(new_session=False)
        shell.compile.reset_compiler_flags()
        before = set(shell.user_ns)
        for text in cells:
            if not shell.run_cell(text, store_history=False).success:
                return None
        return {name: shell.user_ns[name] for name in set(shell.user_ns) - before}
    yield run
    InteractiveShell.clear_instance()
    if saved is None:
        os.environ.pop("IPYTHONDIR", None)
    else:
        os.environ["IPYTHONDIR"] = saved


@pytest.mark.parametrize("separator", P.SEPARATORS.values(), ids=P.SEPARATORS.keys())
@pytest.mark.parametrize("task", ["train", "convolutional_filter"])
def test_a_separator_in_a_comment_string_or_docstring_stays_there(ipython, task, separator):
    text = P.with_separator(REFERENCE[task], task, separator)
    found = _cell(text)
    whole = ast.parse(text)
    assert [s.node.lineno for s in found] == [n.lineno for n in whole.body]     # Python's lines, Python's nodes
    assert [ast.dump(s.node) for s in found] == [ast.dump(n) for n in whole.body]
    name = "train" if task == "train" else "ConvolutionalFilter"
    assert defines(text, name) and name in _running_names(text)
    assert name in ipython(text)     # and Jupyter runs the cell too


def test_text_behind_a_separator_in_a_comment_never_runs(ipython):
    for text, name, hidden in ((P.HIDDEN_FILTER, "ConvolutionalFilter", "_Causal"),
                               (P.HIDDEN_TRAIN, "train", "_honest_train")):
        defined = ipython(text)
        assert defined[name] is not defined[hidden]          # in Jupyter the name is the visible, buggy one
        found = _cell(text)
        bound = [s for s in found if isinstance(s.node, ast.Assign) and s.node.targets[0].id == name]
        assert bound == []                                   # the grader never binds it to the hidden one
        assert all(hidden not in s.text or s.text.startswith(("class", "def")) for s in found)


def test_a_cell_ipython_refuses_does_not_run_and_says_why(ipython):
    assert ipython(P.IPYTHON_REFUSES) is None                # Jupyter shows an IndentationError
    cell = _plan(S.notebook(P.IPYTHON_REFUSES))
    (train,) = [c for c in cell.cells if c.name == "train"]
    assert train.statements == [] and "does not run in Jupyter either (IndentationError" in train.problem
    assert "Line 11 holds a form feed" in train.problem      # Python's line, as the student sees it


# ---- __future__ ---------------------------------------------------------------------------------------------

def _names_in_the_sandbox(notebook) -> tuple[dict, str]:
    """Run the notebook's student cells in the real sandbox as grading does, crashing the worker after them
    (it is replaced and the cells run again); the filter's attributes, as an operation sees them."""
    steps = _plan(notebook)
    with Session(Limits(timeout=20)) as session:
        failures = {}
        for cell in steps.cells:
            runs = [{"index": s.index, "line": s.line} for s in cell.statements if s.runs]
            ran = session.run_cell(CellRun(cell.label, cell.filename, cell.source, cell.flags, runs))
            failures.update({f"{cell.name}:{i}": why for i, why in {**ran.failures, **ran.skipped}.items()})
        crash = "import ctypes\nCRASH = ctypes.string_at(0)\n"
        session.run_cell(CellRun("crash", "<cell crash>", crash, IPYTHON_FLAGS, [{"index": 0, "line": 1},
                                                                                  {"index": 1, "line": 2}]))
        with session.check() as ask:
            answer = ask("filter_attributes", taps=[3])
        return answer, failures, session.workers


def test_a_future_import_in_an_earlier_cell_holds_after_a_worker_is_replaced(ipython):
    notebook = S.notebook(I.TRAIN_ZERO_GRAD_FIRST, P.SELF_ANNOTATED_FILTER, S.add_cells_after("setup", P.FUTURE))
    answer, failures, workers = _names_in_the_sandbox(notebook)
    assert failures == {} and workers == 2
    assert answer["data"]["modules"][0]["taps"]["value"] == 3.0
    assert "ConvolutionalFilter" in ipython(P.FUTURE, P.SELF_ANNOTATED_FILTER)
    assert ipython(P.SELF_ANNOTATED_FILTER) is None          # without it: a NameError, in Jupyter and here
    answer, failures, _ = _names_in_the_sandbox(S.notebook(I.TRAIN_ZERO_GRAD_FIRST, P.SELF_ANNOTATED_FILTER))
    assert any("NameError" in why and "ConvolutionalFilter" in why for why in failures.values())


def test_a_future_import_holds_for_the_rest_of_its_cell_only_from_where_it_stands():
    steps = _plan(S.notebook(I.TRAIN_ZERO_GRAD_FIRST, P.FUTURE + P.SELF_ANNOTATED_FILTER))
    assert [c.flags for c in steps.cells] == [IPYTHON_FLAGS, IPYTHON_FLAGS]  # in force from the import on
    steps = _plan(S.notebook(P.FUTURE, P.SELF_ANNOTATED_FILTER))
    annotations = __import__("__future__").annotations.compiler_flag
    assert [c.flags for c in steps.cells] == [IPYTHON_FLAGS, IPYTHON_FLAGS | annotations]


# ---- magics ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, defined", [
    ("%%time\nclass A:\n    pass\n", {"A"}),
    ("\n%%capture out\n%%time\nclass A:\n    pass\n", {"A", "out"}),
    ("%%prun -q -s cumulative\nclass A:\n    pass\n", {"A"}),
    ("%%timeit -n 1 -r 1\nclass A:\n    pass\n", set()),
    ("%%time x = 1\nclass A:\n    pass\n", None),           # a UsageError: nothing runs
    ("%%writefile notes.py\nclass A:\n    pass\n", set()),
    ("%load_ext autoreload\n!echo hi\nfiles = !echo hi\nA = 1\n", {"A", "files"}),
])
def test_a_cell_magic_runs_its_body_where_ipython_does(ipython, tmp_path, monkeypatch, text, defined):
    monkeypatch.chdir(tmp_path)
    seen = ipython(text)
    assert (None if seen is None else {n for n in seen if not n.startswith("_")}) == defined  # (not its own _ names)
    graded = _running_names(text)
    assert graded == (defined or set()) - {"out", "files"}  # IPython's own outputs: its calls never run here


def test_a_cell_magic_body_keeps_its_lines():
    found = _cell("%%time\n\n@decorate\nclass A:\n    x: int = 1\n")
    assert [(s.line, s.text, s.runs) for s in found] == [(3, "@decorate", True)]
    found = _cell("# a cell magic only on the first line\n%%time\n@decorate\nclass A:\n    x: int = 1\n")
    assert [(s.line, s.text, s.runs) for s in found] == [(2, "get_ipython().run_line_magic('%time', '')", False),
                                                          (3, "@decorate", True)]
    found = _cell("\n\n%%prun -q\nA = 1\nprint(A)\n")
    assert [(s.line, s.text, s.runs) for s in found] == [(4, "A = 1", True), (5, "print(A)", False)]


def test_ipython_calls_never_run_and_a_syntax_error_keeps_its_line():
    found = _cell("files = !ls\nt = %timeit -o 1\nA = get_ipython\n")
    assert [(s.text, s.runs) for s in found] == [("files = get_ipython().getoutput('ls')", False),
                                                  ("t = get_ipython().run_line_magic('timeit', '-o 1')", False),
                                                  ("A = get_ipython", True)]
    assert is_magic(ast.parse("x = get_ipython().system('ls')").body[0])
    problem = statements(ipython_source("x = 1  # a\u2028b = 2\x0c\ndef (:\n"))[1]
    assert problem.startswith("has a SyntaxError at line 2")   # Python's line count, not str.splitlines's


def test_cell_magics_nested_too_deep_are_not_read():
    (cell,) = [c for c in _plan(S.notebook("%%time\n" * 50 + I.TRAIN_ZERO_GRAD_FIRST)).cells if c.name == "train"]
    assert cell.statements == [] and "nests more than 20 cell magics" in cell.problem
    assert _running_names("%%time\n" * 20 + "A = 1\n") == {"A"}


def test_decorated_definitions_start_at_their_first_decorator():
    found = _cell(P.DECORATED_FILTER)
    (cls,) = [s for s in found if isinstance(s.node, ast.ClassDef)]
    assert cls.text == "@typing.final" and python_lines(P.DECORATED_FILTER)[cls.line - 1] == "@typing.final"


def test_a_top_level_await_runs_without_an_event_loop_when_it_needs_none():
    source = ("import asyncio\nREADY = await asyncio.sleep(0, result=True)\n"
              "WAITED = await asyncio.wait_for(asyncio.sleep(0.01), 1)\nclass ConvolutionalFilter:\n    taps = READY\n")
    runs = [{"index": s.index, "line": s.line} for s in _cell(source) if s.runs]
    with Session(Limits(timeout=20)) as session:
        ran = session.run_cell(CellRun("cell", "<cell>", source, IPYTHON_FLAGS, runs))
    assert list(ran.failures) == [2] and "event loop" in ran.failures[2] and ran.skipped == {}


# ---- fuzzing: separators anywhere in the reference's comments and strings --------------------------------------

def _insertion_points(text: str) -> list[int]:
    """Character offsets inside the text's comments and inside its strings' quotes (not after a backslash)."""
    starts = [0]
    for line in text.splitlines(keepends=True):   # tokenize's rows: a file's lines
        starts.append(starts[-1] + len(line))
    points = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        begin = starts[token.start[0] - 1] + token.start[1]
        end = starts[token.end[0] - 1] + token.end[1]
        if token.type == tokenize.COMMENT:
            points.extend(range(begin + 1, end + 1))
        elif token.type == tokenize.STRING:
            quote = 3 if token.string.endswith(('"""', "'''")) else 1
            points.extend(p for p in range(begin + quote, end - quote + 1) if text[p - 1] != "\\")
    return points


POINTS = {task: _insertion_points(I.IMPORTS + REFERENCE[task]) for task in REFERENCE}


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=st.sampled_from(sorted(REFERENCE)),
       insertions=st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(sorted(P.SEPARATORS.values()))),
                           min_size=1, max_size=6))
def test_separators_anywhere_in_comments_and_strings_change_no_statement(task, insertions):
    text = I.IMPORTS + REFERENCE[task]
    points = POINTS[task]
    for offset, separator in sorted(((points[i % len(points)], s) for i, s in insertions), reverse=True):
        text = text[:offset] + separator + text[offset:]
    whole = ast.parse(text)
    try:
        source = ipython_source(text)
    except ValueError:     # IPython itself refuses the cell (see IPYTHON_REFUSES): so does the grader
        cell = _plan(S.notebook(**{"train" if task == "train" else "filter": text}))
        assert any(c.problem and "could not be read by IPython" in c.problem for c in cell.cells)
        return
    found, problem = statements(source)
    assert problem is None
    assert [(s.index, s.line) for s in found] == [(i, n.lineno) for i, n in enumerate(whole.body)]
    assert [ast.dump(s.node) for s in found] == [ast.dump(n) for n in whole.body]
    assert ast.dump(parse(source)) == ast.dump(whole)
    name = "train" if task == "train" else "ConvolutionalFilter"
    assert defines(text, name) and [s.runs for s in found] == [True] * len(found)


def test_the_catalogue_notebooks_keep_their_separators_through_nbformat(tmp_path):
    """nbformat stores a cell's source as lines cut by str.splitlines: read back, the text is the same."""
    text = P.with_separator(REFERENCE["train"], "train", "\u2028")
    path = S.write(S.notebook(text), tmp_path / "lab2a.ipynb")
    (cell,) = [c for c in nbformat.read(path, as_version=4).cells if S.grade_id(c) == "train"]
    assert cell.source == text
