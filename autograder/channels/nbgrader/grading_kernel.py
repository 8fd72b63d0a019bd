"""nbgrader's kernel while it grades, set up at the kernel's start (nbgrader_config.py runs start() through
IPython's exec_lines), before the notebook's first cell, whatever the notebook holds:

  * the student's code may write files only inside the submission's folder and can't signal nbgrader
    (confine.py); temporary files go to that folder too;
  * os._exit is refused: it would end the kernel, and nbgrader would then record no grade at all;
  * the names of the lab's setup cell are defined from the grader's own copy (prelude.py), as in
    `lab2a grade`: nbgrader runs only the solution cells, the student's cells of definitions and the
    test cells (autograde_cells.py), so no instructor cell of the notebook needs to run.

Files the student's code writes are limited to 256 MiB each, as in `lab2a grade`'s worker.

Outside autograding start() does nothing: a student's own Jupyter, and `nbgrader validate`, which runs the
whole lab (NBGRADER_EXECUTION is "validate" there) and may build the data set outside the folder.
"""

import os
import resource
import signal
import tempfile

MAX_FILE_BYTES = 256 << 20


def _exit_refused(status=0):
    raise SystemExit(f"os._exit({status}) was called: refused while grading")


def start(shell) -> None:
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return
    from lab2a.autograder.sandbox.confine import confine
    from lab2a.autograder.sandbox.prelude import namespace

    folder = os.getcwd()  # nbgrader starts the kernel in the folder of the notebook it grades
    os.environ["TMPDIR"] = folder
    tempfile.tempdir = None  # read TMPDIR again
    confine(folder)
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES if hard == resource.RLIM_INFINITY
                                               else min(MAX_FILE_BYTES, hard), hard))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # too large a file: an OSError, not a dead kernel
    os._exit = _exit_refused
    shell.user_ns.update({name: value for name, value in namespace().items() if not name.startswith("__")})
