"""nbgrader's global configuration on the hub (every user's server reads it: jupyterhub_config.py puts this
folder on JUPYTER_CONFIG_PATH): the course, the exchange, and Validate through the sandboxed grader.

The instructor's course folder is this repository's layout (nbgrader_config.py at its root, source/lab2a/);
its own nbgrader_config.py (the sandboxed Execute step, the feedback steps) is loaded from here, so
Formgrader grades as `lab2a autograde` does whatever folder the server runs in.
"""

import os
from pathlib import Path

from lab2a.autograder.channels.nbgrader.validate import use_sandbox

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

COURSE = Path(os.environ.get("LAB2A_COURSE_DIR", "/srv/lab2a/course"))

c.CourseDirectory.course_id = "lab2a"
c.Exchange.root = os.environ.get("LAB2A_EXCHANGE", "/srv/nbgrader/exchange")
c.Exchange.timezone = "UTC"

if os.access(COURSE / "nbgrader_config.py", os.R_OK):   # the instructors' (students can't read the course)
    load_subconfig(str(COURSE / "nbgrader_config.py"))  # noqa: F821 (provided by traitlets)
    c.CourseDirectory.root = str(COURSE)
    c.CourseDirectory.db_url = f"sqlite:///{COURSE / 'gradebook.db'}"

# Validate (the Assignments tab's button, `nbgrader validate`): the visible checks, sandboxed, as `lab2a check`
use_sandbox()
