"""Which file of a student's submission folder is graded, and what nbgrader is given when it can't read it.

nbgrader grades `<student>/lab2a/lab2a.ipynb` only: a renamed notebook is skipped, and a file that is not
a readable notebook (invalid JSON, not UTF-8, no cells) stops that student's grading with no result. So
before `nbgrader autograde`, prepare() makes every submission folder gradeable, keeping what the
student sent:

  * lab2a.ipynb missing, one other notebook in the folder (renamed, "lab2a (1).ipynb"): it is copied to
    lab2a.ipynb and graded as such;
  * nbgrader's cell metadata lost (an editor stripped it): it is given back to the cells whose text is the
    release's, and to the cells defining the solutions (grading/layout.reattach_metadata);
  * cells of the release deleted (a test cell with the text before it, a whole section): they are put
    back (the notebook as sent is kept as lab2a.ipynb.as-submitted); nbgrader would fail on it;
  * lab2a.ipynb unreadable, several other notebooks, or none at all: the file (if any) is moved to
    lab2a.ipynb.unreadable and lab2a.ipynb becomes a stand-in: the released notebook, unanswered, with a
    first cell that says what was wrong. nbgrader grades it 0 and its feedback explains why.

`lab2a grade` and every CI channel follow the same rule (grading/submission.choose), so all grade the same file.
"""

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from lab2a.autograder.grading.layout import grade_id, reattach_metadata, restore_deleted_cells
from lab2a.autograder.grading.report import printable_data
from lab2a.autograder.grading.submission import NOTEBOOK, Choice, choose, load  # noqa: F401 (intake.NOTEBOOK)

KEPT_SUFFIX = ".unreadable"             # the student's file, when a stand-in takes its place
AS_SUBMITTED_SUFFIX = ".as-submitted"    # the student's file, when deleted cells were put back
MARK = "lab2a_intake"   # notebook metadata of a stand-in: the problem it stands in for


@dataclass(frozen=True)
class Prepared:
    student: str
    action: str              # "ok", "renamed", "repaired" or "stand-in"
    message: str = ""


def stand_in(release: Path, problem: str, kept: str | None):
    """The released notebook, unanswered, opened by a cell that says why it is graded instead."""
    notebook = nbformat.read(release, as_version=4)
    where = (f" What you submitted is kept beside it as `{kept}`." if kept else "")
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"## This is not your notebook\n\nYour submission could not be graded: {problem}\n\n"
        f"What was graded in its place is the assignment as it was handed out, so every check scores 0."
        f"{where} Ask your TA to grade a corrected file."))
    notebook.metadata[MARK] = {"problem": problem}
    return notebook


def _as_nbformat_reads_it(raw: dict):
    """A notebook the grader's lenient reader takes but nbformat refuses (an odd "nbformat" field, a cell
    with extra keys), rebuilt as a version 4 notebook from its cells' types, text and metadata."""
    notebook = nbformat.v4.new_notebook()
    makers = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
              "raw": nbformat.v4.new_raw_cell}
    for cell in raw.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") in makers:
            source = cell.get("source", "")
            source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else str(source)
            metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
            notebook.cells.append(makers[cell["cell_type"]](source, metadata=metadata))
    return notebook


def _restore_nbgrader_metadata(notebook, release) -> list[str]:
    """Each cell's nbgrader metadata as the assignment gave it: the release's for a grade_id of the release,
    none for any other (an id a student made up, a schema nbgrader doesn't know): nbgrader would stop
    on them, for this student or for the whole run. Returns what changed."""
    given = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in release.cells
             if "nbgrader" in c.metadata}
    changed = []
    for cell in notebook.cells:
        marks = cell.metadata.get("nbgrader")
        if marks is None:
            continue
        gid = marks.get("grade_id") if isinstance(marks, dict) else None
        if gid in given and marks != given[gid]:
            cell.metadata["nbgrader"] = copy.deepcopy(given[gid])
            changed.append(gid)
        elif gid not in given:
            del cell.metadata["nbgrader"]
            changed.append(str(gid))
    return changed


def prepare_folder(folder: Path, release: Path) -> Prepared:
    student, expected, done = folder.parent.name, folder / NOTEBOOK, []
    if not expected.exists():
        choice = choose(folder)
        if choice.path is None:
            return _stand_in(student, expected, release, choice.problem, None)
        shutil.copyfile(choice.path, expected)
        done.append(choice.note)
    raw, problem = load(expected)
    if problem is not None:
        kept = expected.name + KEPT_SUFFIX
        expected.replace(folder / kept)
        return _stand_in(student, expected, release, problem, kept)
    rebuilt = False
    try:
        notebook = nbformat.read(expected, as_version=4)
        nbformat.validate(notebook)
    except Exception:  # noqa: BLE001 (readable by the grader's lenient reader, not by nbgrader's)
        notebook, rebuilt = _as_nbformat_reads_it(dict(raw)), True
    if notebook.metadata.get(MARK):  # prepared before: a stand-in already
        return Prepared(student, "stand-in", notebook.metadata[MARK].get("problem", ""))
    released = nbformat.read(release, as_version=4)
    reattached = [] if any(grade_id(c) for c in notebook.cells) else reattach_metadata(notebook, released)
    notebook = nbformat.from_dict(notebook)
    flags = _restore_nbgrader_metadata(notebook, released)
    restored = restore_deleted_cells(notebook, released)
    printable = nbformat.from_dict(printable_data(notebook))  # nbgrader can't write a lone surrogate back
    surrogates = printable != notebook
    notebook = printable
    if rebuilt or reattached or flags or restored or surrogates:
        kept = expected.name + AS_SUBMITTED_SUFFIX
        if not (folder / kept).exists():
            expected.replace(folder / kept)
        nbformat.write(notebook, str(expected))
        if rebuilt:
            done.append("rebuilt as a notebook nbgrader can read")
        if reattached:
            done.append("nbgrader's cell metadata, lost, was given back by matching the cells' text")
        if flags:
            done.append(f"cell metadata set back to the assignment's ({', '.join(flags)})")
        if restored:
            done.append(f"deleted cells put back ({', '.join(restored)})")
        if surrogates:
            done.append("characters that are not valid text (lone surrogates) replaced by '?'")
        done.append(f"the notebook as submitted is kept as {kept}")
    action = "repaired" if rebuilt or reattached or flags or restored or surrogates else "renamed" if done else "ok"
    return Prepared(student, action, "; ".join(done))


def _stand_in(student: str, expected: Path, release: Path, problem: str, kept: str | None) -> Prepared:
    nbformat.write(stand_in(release, problem, kept), str(expected))
    return Prepared(student, "stand-in", problem)


def prepare(course: Path, assignment: str = "lab2a", student: str | None = None) -> list[Prepared]:
    """Every submitted/<student>/<assignment>/ folder of the course (or one student's) made gradeable."""
    release = course / "release" / assignment / NOTEBOOK
    if not release.exists():
        raise FileNotFoundError(f"{release} does not exist: run `nbgrader generate_assignment {assignment}` first")
    folders = ([course / "submitted" / student / assignment] if student else
               sorted((course / "submitted").glob(f"*/{assignment}")))
    folders = [folder for folder in folders if folder.is_dir()]
    return [prepare_folder(folder, release) for folder in folders]
