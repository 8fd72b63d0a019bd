"""Reading a submitted file: the notebook, or why it is not a notebook that can be graded.

load() never raises: a file that is not a readable notebook (missing, a folder or a device, too large,
not UTF-8, not JSON, not a notebook) gives the reason, for the student, instead. choose() picks the
notebook of a submission folder, for every channel alike.
"""

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 100 * 1024 * 1024
NOTEBOOK = "lab2a.ipynb"


def quoted(text: str, limit: int = 80) -> str:
    """Text that comes from the student (a file name, a metadata value, a message quoting their file) as it
    appears in the grader's words: in Python's quotes, with quotes, line breaks and other control or
    invisible characters escaped, so it can't pass for the grader's own text; at most `limit` characters."""
    text = str(text)
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


@dataclass(frozen=True)
class Choice:
    path: Path | None        # the notebook to grade, None when there is none to grade
    problem: str | None      # why there is nothing to grade
    note: str | None = None  # what was done, e.g. a renamed notebook taken in lab2a.ipynb's place


def choose(folder: Path) -> Choice:
    """The notebook to grade in a submission folder: lab2a.ipynb, else the only notebook there; none (and
    why) when it holds several or none. A symbolic link is never a notebook: it may lead anywhere (a file
    of the grader's, a device), so it is not followed. Nothing is changed here."""
    expected = folder / NOTEBOOK
    link = expected.is_symlink()
    if expected.exists() and not link:
        return Choice(expected, None)
    others = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink() and p != expected)
    why = f"{NOTEBOOK} is a symbolic link, which the grader does not follow" if link else f"{NOTEBOOK} is missing"
    if len(others) == 1:
        return Choice(others[0], None, f"{why}; the only notebook in the folder, {quoted(others[0].name)}, was "
                                       f"graded in its place" + ("" if link else " (was it renamed?)"))
    if others:
        names = ", ".join(quoted(p.name) for p in others[:10]) + (f" and {len(others) - 10} more"
                                                                  if len(others) > 10 else "")
        return Choice(None, f"{why} and the folder holds several notebooks ({names}): the grader "
                            f"can't tell which one is the submission. Name the one to grade {NOTEBOOK}.")
    if link:
        return Choice(None, f"{why}, and the folder holds no other notebook: submit the notebook file itself")
    return Choice(None, f"no notebook was submitted: the submission folder holds no {NOTEBOOK} (nor any other "
                        f".ipynb file)")


def load(path) -> tuple:
    """(the notebook as a dict, None) or (None, why it can't be read); never raises."""
    path = Path(path)
    try:
        if not path.exists():
            return None, f"there is no file {path}"
        if path.is_dir():
            return None, f"{path} is a folder, not a notebook file"
        if not path.is_file():  # a device or a pipe (e.g. a link to /dev/zero) would be read forever
            return None, f"{path} is not a regular file, so it is not a notebook"
        if path.stat().st_size > MAX_BYTES:
            return None, (f"{path} is {path.stat().st_size / 1e6:.0f} MB, over the {MAX_BYTES // 2 ** 20} MiB a "
                          f"notebook may have")
        raw = path.read_bytes()
    except OSError as error:
        return None, f"the file could not be read: {error.strerror or error}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return None, (f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x} at position {error.start} is not "
                      f"valid UTF-8): a notebook is a UTF-8 JSON file. Was it saved by another program? "
                      f"Download it again from Jupyter (File > Download).")
    if not text.strip():
        return None, "the file is empty: it is not a notebook"
    try:
        raw_notebook = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        where = (f" (line {error.lineno}, column {error.colno}: {error.msg})"
                 if isinstance(error, json.JSONDecodeError) else "")
        return None, (f"the file is not valid JSON{where}, so it is not a readable notebook: it may have been "
                      f"damaged or edited outside Jupyter. Restore it (File > Revert to Checkpoint) or start "
                      f"again from the released notebook.")
    if not isinstance(raw_notebook, dict) or not ("cells" in raw_notebook or "worksheets" in raw_notebook):
        return None, "the file is JSON but not a Jupyter notebook (it has no cells)"
    if raw_notebook.get("nbformat") == 4 and isinstance(raw_notebook.get("cells"), list):
        notebook = raw_notebook  # read as it is (importing nbformat, with its schemas, costs a second or two)
    else:
        notebook = _upgraded(text, raw_notebook)
        if isinstance(notebook, str):
            return None, notebook
    if not isinstance(notebook.get("cells"), list) or not notebook["cells"]:
        return None, "the notebook has no cells: the solution cells are missing"
    return notebook, None


def _upgraded(text: str, raw_notebook: dict):
    """An older notebook (nbformat 3: worksheets) as version 4, by nbformat; a string when it can't."""
    try:
        import nbformat
        with warnings.catch_warnings():  # nbformat's notes on slightly invalid notebooks (duplicate cell ids...)
            warnings.simplefilter("ignore")
            return nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as error:  # noqa: BLE001 (nbformat's errors are of many kinds; a lenient read below)
        if not isinstance(raw_notebook.get("cells"), list):
            return (f"the file is not a notebook nbformat can read: {type(error).__name__} (nbformat's message, "
                    f"which quotes the file: {quoted(error, 200)})")
        notebook = raw_notebook
    return notebook
