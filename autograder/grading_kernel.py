"""nbgrader's kernel while it grades, set up at the kernel's start (nbgrader_config.py runs start() through
IPython's exec_lines), before the notebook's first cell, whatever the notebook holds:

  * the student's code may write files only inside the submission's folder and can't signal nbgrader
    (confine.py); temporary files go to that folder too;
  * os._exit is refused: it would end the kernel, and nbgrader would then record no grade at all;
  * the names of the lab's setup cell are defined from the grader's own copy (prelude.py), as in
    `lab2a grade`: nbgrader runs only the solution cells, the student's cells of definitions and the
    test cells (autograde_cells.py), so no instructor cell of the notebook needs to run.

Outside nbgrader's grading (NBGRADER_EXECUTION unset: a student's own Jupyter) start() does nothing.
"""

import os
import tempfile


def _exit_refused(status=0):
    raise SystemExit(f"os._exit({status}) was called: refused while grading")


def start(shell) -> None:
    if "NBGRADER_EXECUTION" not in os.environ:
        return
    from .confine import confine
    from .prelude import namespace

    folder = os.getcwd()  # nbgrader starts the kernel in the folder of the notebook it grades
    os.environ["TMPDIR"] = folder
    tempfile.tempdir = None  # read TMPDIR again
    confine(folder)
    os._exit = _exit_refused
    shell.user_ns.update({name: value for name, value in namespace().items() if not name.startswith("__")})
