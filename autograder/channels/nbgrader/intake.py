"""Which file of a student's submission folder is graded, and what nbgrader is given when it can't read it.

nbgrader grades `<student>/lab2a/lab2a.ipynb` only: a renamed notebook is skipped, and a file that is not
a readable notebook (invalid JSON, not UTF-8, no cells) stops that student's grading with no result. So
before `nbgrader autograde`, prepare() makes every submission folder gradeable, keeping what the
student sent:

  * lab2a.ipynb missing, one other notebook in the folder (renamed, "lab2a (1).ipynb"): it is copied to
    lab2a.ipynb and graded as such;
  * nbgrader's cell metadata lost (an editor stripped it): it is given back to the cells whose text is the
    release's, and to the cells defining the solutions (grading/layout.reattach_metadata);
  * nbgrader's cell metadata changed (flags, points, a schema nbgrader doesn't know, an id of the
    student's own, values of the wrong type): the release's for each id of the release, none for any other;
    a cell of the release whose type was changed gets the release's type back, as nbgrader's OverwriteCells
    would (without what the other type can't hold: attachments, outputs);
  * cells of the release deleted (a test cell with the text before it, a whole section): they are put
    back (the notebook as sent is kept as lab2a.ipynb.as-submitted); nbgrader would fail on it;
  * lab2a.ipynb a symbolic link: never followed (grading/submission.choose), moved aside as
    lab2a.ipynb.unreadable; the only other notebook is graded, as a renamed one is;
  * lab2a.ipynb unreadable (or not a file: a folder, a device), several other notebooks, or none at all: the
    file (if any) is moved to lab2a.ipynb.unreadable and lab2a.ipynb becomes a stand-in: the released
    notebook, unanswered, with a first cell that says what was wrong. nbgrader grades it 0 and its
    feedback explains why.

Nothing in the student's folder says what the intake did: a mark in the notebook or a file beside it may be
the student's (nbgrader's collect copies the whole folder). A stand-in is recorded in the course folder,
bound to the bytes of the file the intake wrote (records.py); a notebook that only looks like one is the
student's. A failure of the intake itself on one student is that student's stand-in, with the grader's
reason; it never reaches another student. Every value read from the notebook is checked before use: the
result is always a notebook nbformat validates and nbgrader's own checks accept (tests/test_student_marks.py
fuzzes it).

`lab2a grade` and every CI channel follow the same rule (grading/submission.choose), so all grade the same file.
"""

import copy
import html
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lab2a.autograder.channels.nbgrader import records
from lab2a.autograder.grading.layout import grade_id, is_written_answer, reattach_metadata, restore_deleted_cells
from lab2a.autograder.grading.report import ASSIGNMENT, printable_data
from lab2a.autograder.grading.submission import MAX_BYTES, NOTEBOOK, Choice, choose, load, quoted  # noqa: F401 (intake.NOTEBOOK)

KEPT_SUFFIX = ".unreadable"             # the student's file, when a stand-in takes its place
AS_SUBMITTED_SUFFIX = ".as-submitted"    # the student's file, when deleted cells were put back


@dataclass(frozen=True)
class Prepared:
    student: str
    action: str              # "ok", "renamed", "repaired", "stand-in" or "failed" (the folder could not be written)
    message: str = ""


def stand_in(release: Path, problem: str, kept: str | None):
    """The released notebook, unanswered, opened by a cell that says why it is graded instead."""
    notebook = nbformat.read(release, as_version=4)
    where = (f" What you submitted is kept beside it as `{kept}`." if kept else "")
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(
        f"## This is not your notebook\n\nYour submission could not be graded: {html.escape(problem)}\n\n"
        f"What was graded in its place is the assignment as it was handed out, so every check scores 0."
        f"{where} Ask your TA to grade a corrected file."))
    return nbformat.from_dict(printable_data(notebook))


def _cell_as_nbformat_takes_it(cell: dict):
    """One cell of a notebook nbformat refuses, rebuilt from its type, text and metadata: the metadata whole if
    nbformat takes it, else only nbgrader's entry (set back to the release's afterwards); None: not a cell."""
    makers = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
              "raw": nbformat.v4.new_raw_cell}
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str) or cell["cell_type"] not in makers:
        return None
    source = cell.get("source", "")
    source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else \
        source if isinstance(source, str) else ""
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    for kept in (metadata, {k: v for k, v in metadata.items() if k == "nbgrader"}, {}):
        try:   # (the cell's maker validates it too)
            rebuilt = makers[cell["cell_type"]](printable_data(source), metadata=printable_data(kept))
            nbformat.validate(nbformat.v4.new_notebook(cells=[rebuilt]))
            return rebuilt
        except Exception:  # noqa: BLE001 (nbformat's ValidationError, or a RecursionError on deep metadata)
            continue
    return None


def _as_nbformat_reads_it(raw: dict):
    """A notebook the grader's lenient reader takes but nbformat refuses (an odd "nbformat" field, a cell
    with extra keys, metadata of the wrong types), rebuilt as a version 4 notebook from its cells' types,
    text and metadata."""
    notebook = nbformat.v4.new_notebook()
    cells = raw.get("cells") if isinstance(raw.get("cells"), list) else []
    notebook.cells = [c for c in map(_cell_as_nbformat_takes_it, cells) if c is not None]
    return notebook


def _restore_nbgrader_metadata(notebook, release) -> list[str]:
    """Each cell's nbgrader metadata as the assignment gave it: the release's for a grade_id of the release,
    none for any other (an id a student made up, a schema nbgrader doesn't know, a value that is not
    nbgrader's mapping): nbgrader would stop on them, for this student or for the whole run. A cell of the
    release gets its type back. Returns what changed."""
    given = {grade_id(c): c for c in release.cells if grade_id(c) is not None}
    changed = []
    for cell in notebook.cells:
        if "nbgrader" not in cell.metadata:
            continue
        marks = cell.metadata["nbgrader"]
        gid = marks.get("grade_id") if isinstance(marks, dict) else None
        if isinstance(gid, str) and gid in given:
            if marks != given[gid].metadata["nbgrader"]:
                cell.metadata["nbgrader"] = copy.deepcopy(given[gid].metadata["nbgrader"])
                changed.append(gid)
            if cell.cell_type != given[gid].cell_type:
                _set_type(cell, given[gid].cell_type)
                changed.append(f"{gid} made a {given[gid].cell_type} cell again")
        else:
            del cell.metadata["nbgrader"]
            changed.append(f"the id {quoted(gid, 40)}" if gid is not None else "an nbgrader entry without an id")
    return changed


def _restore_written_answers(notebook, release) -> list[str]:
    """A deleted written answer, put back as handed out (unanswered: nbgrader scores it 0), after the cell it
    followed. nbgrader's add_missing_cells would stop on it (a KeyError: it looks for the question before it
    among the graded and solution cells only), and layout.restore_deleted_cells leaves solution cells out."""
    present = {grade_id(c) for c in notebook.cells} - {None}
    restored = []
    for index, cell in enumerate(release.cells):
        gid = grade_id(cell)
        if gid is None or gid in present or not is_written_answer(cell):
            continue
        before = {grade_id(c) for c in release.cells[:index]} - {None}
        positions = [i for i, c in enumerate(notebook.cells) if grade_id(c) in before]
        notebook.cells.insert(positions[-1] + 1 if positions else 0, copy.deepcopy(cell))
        present.add(gid)
        restored.append(gid)
    return restored


def _set_type(cell, kind: str) -> None:
    """The cell as the other type, with only what that type holds (nbgrader's OverwriteCells.update_cell_type
    validates the cell it changes, and stops on a code cell with attachments)."""
    cell.cell_type = kind
    if kind == "code":
        cell.pop("attachments", None)
        cell.outputs, cell.execution_count = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    try:   # metadata one type allows may be refused in the other (a text cell's "collapsed": null)
        nbformat.validate(nbformat.v4.new_notebook(cells=[cell]))
    except Exception:  # noqa: BLE001 (nbformat's ValidationError)
        cell.metadata = nbformat.from_dict({"nbgrader": cell.metadata["nbgrader"]})


def _free(folder: Path, name: str) -> str:
    """name, or name-2, name-3 ... : the first that is free in the folder (a file of the student's may have it)."""
    candidate, n = name, 1
    while (folder / candidate).exists() or (folder / candidate).is_symlink():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def prepare_folder(folder: Path, release: Path, course: Path | None = None, assignment: str = ASSIGNMENT) -> Prepared:
    """One student's folder made gradeable; never raises (a failure of the intake itself is the student's
    stand-in, with the grader's reason). course: where the stand-ins are recorded (default: the course
    folder of submitted/<student>/<assignment>/)."""
    course = Path(course) if course is not None else folder.parents[2]
    student = folder.parent.name
    try:
        return _prepare(folder, release, course, assignment, student)
    except Exception as error:  # noqa: BLE001 (one student's notebook never stops the class)
        problem = (f"the grader failed while preparing it, not your work ({type(error).__name__}); your TA can "
                   f"grade it alone with `lab2a grade`")
        try:
            expected = folder / NOTEBOOK
            kept = None
            if expected.exists() or expected.is_symlink():
                kept = _free(folder, expected.name + KEPT_SUFFIX)
                expected.replace(folder / kept)
            return _stand_in(course, assignment, student, expected, release, f"GRADER FAILURE: {problem}", kept)
        except Exception as again:  # noqa: BLE001 (the folder can't be written: nbgrader says what it finds)
            return Prepared(student, "failed", f"GRADER FAILURE: the intake could not prepare this submission "
                                               f"({type(error).__name__}, then {type(again).__name__}): "
                                               f"nbgrader grades the folder as it is")


def _prepare(folder: Path, release: Path, course: Path, assignment: str, student: str) -> Prepared:
    expected, done = folder / NOTEBOOK, []
    if expected.is_symlink() or not expected.exists():
        choice, kept = choose(folder), None
        if expected.is_symlink():   # it may lead anywhere (a file of the TA's, /dev/zero): moved aside, unread
            kept = _free(folder, expected.name + KEPT_SUFFIX)
            expected.replace(folder / kept)
        if choice.path is None:
            return _stand_in(course, assignment, student, expected, release, choice.problem, kept)
        if choice.path.stat().st_size > MAX_BYTES:   # not copied: load() says how large, without reading it
            return _stand_in(course, assignment, student, expected, release, load(choice.path)[1], kept)
        shutil.copyfile(choice.path, expected)
        done.append(choice.note + (f" (the link is kept as {kept})" if kept else ""))
    earlier = records.stand_in(course, assignment, student, expected)
    if earlier is not None:   # the stand-in written by an earlier run, byte for byte
        return Prepared(student, "stand-in", earlier.problem)
    records.forget(course, assignment, student)
    raw, problem = load(expected)
    if problem is not None:
        kept = _free(folder, expected.name + KEPT_SUFFIX)
        expected.replace(folder / kept)
        return _stand_in(course, assignment, student, expected, release, problem, kept)
    rebuilt = False
    try:
        notebook = nbformat.read(expected, as_version=4)
        nbformat.validate(notebook)
    except Exception:  # noqa: BLE001 (readable by the grader's lenient reader, not by nbgrader's)
        notebook, rebuilt = _as_nbformat_reads_it(dict(raw)), True
    released = nbformat.read(release, as_version=4)
    reattached = [] if any(grade_id(c) for c in notebook.cells) else reattach_metadata(notebook, released)
    notebook = nbformat.from_dict(notebook)
    flags = _restore_nbgrader_metadata(notebook, released)
    restored = restore_deleted_cells(notebook, released) + _restore_written_answers(notebook, released)
    ids = _unique_ids(notebook) or _had_duplicate_ids(raw)
    printable = nbformat.from_dict(printable_data(notebook))  # nbgrader can't write a lone surrogate back
    surrogates = printable != notebook
    notebook = printable
    repaired = rebuilt or reattached or flags or restored or ids or surrogates
    if repaired:
        nbformat.validate(notebook)   # what nbgrader will read: else this student's stand-in (prepare_folder)
        kept = _free(folder, expected.name + AS_SUBMITTED_SUFFIX)
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
        if ids:
            done.append("cells given ids of their own (several had the same)")
        if surrogates:
            done.append("characters that are not valid text (lone surrogates) replaced by '?'")
        done.append(f"the notebook as submitted is kept as {kept}")
    action = "repaired" if repaired else "renamed" if done else "ok"
    return Prepared(student, action, "; ".join(done))


def _unique_ids(notebook) -> bool:
    """A cell put back may carry an id the student gave another cell: nbformat would change one of them as it
    validates (with a warning) and nbgrader's copy would differ from this one. Returns whether any changed."""
    seen, changed = set(), False
    for cell in notebook.cells:
        if "id" in cell and cell["id"] in seen:
            cell["id"] = nbformat.v4.new_code_cell().id
            changed = True
        seen.add(cell.get("id"))
    return changed


def _had_duplicate_ids(raw: dict) -> bool:
    """Whether the file gave several cells one id (nbformat's reader gives them new ones as it reads, so the
    file must be written again for nbgrader's copy to be this one)."""
    ids = [c["id"] for c in raw.get("cells", []) if isinstance(c, dict) and isinstance(c.get("id"), str)]
    return len(ids) != len(set(ids))


def _stand_in(course: Path, assignment: str, student: str, expected: Path, release: Path, problem: str,
              kept: str | None) -> Prepared:
    nbformat.write(stand_in(release, problem, kept), str(expected))
    records.remember(course, assignment, student, expected, records.StandIn(problem, kept))
    return Prepared(student, "stand-in", problem)


def prepare(course: Path, assignment: str = ASSIGNMENT, student: str | None = None) -> list[Prepared]:
    """Every submitted/<student>/<assignment>/ folder of the course (or one student's) made gradeable."""
    release = course / "release" / assignment / NOTEBOOK
    if not release.exists():
        raise FileNotFoundError(f"{release} does not exist: run `nbgrader generate_assignment {assignment}` first")
    folders = ([course / "submitted" / student / assignment] if student else
               sorted((course / "submitted").glob(f"*/{assignment}")))
    folders = [folder for folder in folders if folder.is_dir()]
    return [prepare_folder(folder, release, course, assignment) for folder in folders]
