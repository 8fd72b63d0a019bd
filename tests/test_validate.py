"""nbgrader's Validate (`nbgrader validate`, the Assignments tab's button) runs the visible checks in the sandbox,
as `lab2a check` does: no data set, no kernel, each failing check named with its whole message."""

import json

import nbformat
import pytest

from lab2a import samples
from lab2a.autograder.channels.nbgrader import course as nbgrader_course
from lab2a.autograder.checks.manifest import ANSWERS
from lab2a.autograder.grading.layout import grade_id

from .conftest import ROOT, run_lab2a

pytestmark = pytest.mark.slow   # end to end: not in the inner loop, `pytest -m "not slow"` (docs/testing.md)


@pytest.fixture(scope="module")
def course(tmp_path_factory, no_data):
    """A course with its release generated, and four students' notebooks beside it (their written answers
    written: an unanswered one is a failed cell for nbgrader's Validate, as nbgrader decides)."""
    course = nbgrader_course.new_course(ROOT, tmp_path_factory.mktemp("validate") / "course")
    nbgrader_course.nbgrader(course, "generate_assignment", "lab2a")
    notebooks = {}
    for name in ("perfect", "wraps_around", "no_zero_grad", "blank"):
        notebooks[name] = course / "students" / name / "lab2a.ipynb"
        notebooks[name].parent.mkdir(parents=True)
        notebook = samples.build(course / "release/lab2a/lab2a.ipynb", course / "source/lab2a/lab2a.ipynb", name)
        for cell in notebook.cells:
            if grade_id(cell) in {answer.name for answer in ANSWERS}:
                cell.source = "The filter learned a low-pass response."
        nbformat.write(notebook, notebooks[name])
    return course, notebooks


def check_results(notebook, tmp_path) -> dict:
    """`lab2a check`'s visible checks: {name: (score, max_score, [failing part's message])}."""
    out = tmp_path / f"{notebook.parent.name}.json"
    run_lab2a("check", notebook, "--json", out, check=False)
    return {t["name"]: (t["score"], t["max_score"], [p["message"] for p in t["parts"] if p["score"] < p["max_score"]])
            for t in json.loads(out.read_text())["tests"]}


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("student", ["perfect", "wraps_around", "no_zero_grad", "blank"])
def test_validate_says_what_lab2a_check_says(course, student, tmp_path):
    course, notebooks = course
    validated = nbgrader_course.nbgrader(course, "validate", str(notebooks[student]))
    said = validated.stdout
    assert "Traceback" not in validated.stderr and "ERROR" not in validated.stderr, validated.stderr
    checks = check_results(notebooks[student], tmp_path)
    failing = {name: result for name, result in checks.items() if result[0] < result[1]}
    if not failing:
        assert student == "perfect"
        assert said.startswith("Success! Your notebook passes all the tests."), said
        return
    # a hidden checks' cell fails where its task earns no visible point (in a kernel it says which task to finish)
    from lab2a.autograder.checks.manifest import check
    unfinished = {check(name).task for name in checks} - {check(name).task for name, (score, _, _) in checks.items()
                                                          if score > 0}
    assert f"VALIDATION FAILED ON {len(failing) + len(unfinished)} CELL(S)!" in " ".join(words(said)), said
    assert " ".join(words(said)).count("first: none of its visible checks earns a point yet") == len(unfinished)
    # no line of a message cut ("..."), as the Validator cuts long lines (it shows the cells' source cut so too)
    sources = [line.strip() for cell in nbformat.read(notebooks[student], as_version=4).cells
               for line in cell.source.splitlines()]
    cut = [line for line in said.splitlines() if line.rstrip().endswith("...")
           and not any(source.startswith(line.strip()[:-3]) for source in sources)]
    assert not cut, ("a line was cut", cut)
    for name, (score, max_score, messages) in failing.items():
        # each failing check named with its points, and each failing part's message whole (wrapped: compared
        # word by word)
        assert f"✗ {name} {score}/{max_score}" in said, (name, said)
        for message in messages:
            assert " ".join(words(message)) in " ".join(words(said)), (name, message, said)
    for name in set(checks) - set(failing):
        assert f"✗ {name} " not in said


def test_validate_runs_the_students_code_only_in_the_sandbox(course, tmp_path):
    """The notebook's cells never run in nbgrader's process or a kernel of the student's: a cell that writes a
    file beside the notebook writes nothing (the sandbox keeps the student's code in a folder of its own),
    and with no data set (the no_data fixture) the reference notebook still passes."""
    course, notebooks = course
    marker = tmp_path / "ran"
    notebook = nbformat.read(notebooks["perfect"], as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'w').write('ran')"))
    path = tmp_path / "lab2a.ipynb"
    nbformat.write(notebook, path)
    validated = nbgrader_course.nbgrader(course, "validate", str(path))
    assert validated.stdout.startswith("Success! Your notebook passes all the tests."), validated.stdout
    assert not marker.exists()
