"""Where this grader's files are, in each of the three layouts it runs from; the one place that tells them apart.

  * the course repository: lab2a/, autograder/ and data/ side by side, imported as lab2a, lab2a.autograder and
    lab2a.data through the editable install's mapping (pyproject.toml's package-dir); the release notebook is
    release/lab2a/lab2a.ipynb;
  * an installed package (pip install .): the same three as folders of site-packages/lab2a/, no release notebook;
  * a copy made by channels/kit.py (a student's kit, the Classroom 50 and Gradescope bundles): a plain lab2a/
    folder with autograder/ and data/ inside it and the release notebook beside them as RELEASE_IN_COPY, found
    on sys.path (the bundle's launcher puts it there: channels/classroom50.py, channels/gradescope.py).

What differs by what a copy holds rather than by layout is decided where it is used: a copy without
autograder/private/ (checks/registry.py: no hidden checks; judge/training.py: frozen reference runs), the TA's
tools found only in the course repository (lab2a/cli.py's _course_tool), and the folders the worker keeps the
student's code from reading (sandbox/worker.py's _protected: it finds them itself, never importing the grader).
"""

from pathlib import Path

import lab2a

PACKAGE = Path(lab2a.__file__).resolve().parent   # lab2a/: the repository's, site-packages', or a copy's
RELEASE_IN_COPY = "release.ipynb"                  # the release notebook's name in a copy's lab2a/ (kit.py)


def import_root() -> Path:
    """The folder that holds the lab2a package this process imported: named on a new process's PYTHONPATH (the
    fork server's), it imports the same copy (a plain copy is not installed; a checkout is, and finds it too)."""
    return PACKAGE.parent


def release_notebook() -> Path | None:
    """The release notebook this grader belongs to: release/lab2a/lab2a.ipynb in the course repository, or
    RELEASE_IN_COPY in the package of a copy (never the student's own notebook); None in an installed package."""
    for candidate in (PACKAGE.parent / "release" / "lab2a" / "lab2a.ipynb", PACKAGE / RELEASE_IN_COPY):
        if candidate.is_file():
            return candidate
    return None
