"""JupyterHub for this course on one machine: system accounts (PAM), an instructor group, a student group.

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py      # as root, from the course's .venv

Every setting a course changes is an environment variable (defaults in brackets):
  LAB2A_COURSE_DIR   the instructor's course folder, this repository's layout   [/srv/lab2a/course]
  LAB2A_EXCHANGE     nbgrader's exchange, a folder everyone writes (mode 1777)   [/srv/nbgrader/exchange]
  LAB2A_HUB_STATE    the hub's database and cookie secret                        [/srv/lab2a/hub]
  LAB2A_HUB_PORT     the port users open (the proxy), on 127.0.0.1; the proxy API [8000]
                     uses the next port, the hub itself the one after
  LAB2A_INSTRUCTORS  the group whose members get Formgrader                      [lab2a-instructors]
  LAB2A_STUDENTS     the group of the students                                   [lab2a-students]
  LAB2A_PROXY        configurable-http-proxy's command (npm's)                   [configurable-http-proxy on PATH]
Everything listens on 127.0.0.1; put a TLS reverse proxy in front to open it to a class.
"""

import grp
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when JupyterHub loads this file)

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent          # the course's .venv: lab2a, nbgrader, jupyterlab
COURSE = os.environ.get("LAB2A_COURSE_DIR", "/srv/lab2a/course")
EXCHANGE = os.environ.get("LAB2A_EXCHANGE", "/srv/nbgrader/exchange")
STATE = Path(os.environ.get("LAB2A_HUB_STATE", "/srv/lab2a/hub"))
INSTRUCTORS = os.environ.get("LAB2A_INSTRUCTORS", "lab2a-instructors")
STUDENTS = os.environ.get("LAB2A_STUDENTS", "lab2a-students")

# 127.0.0.1 only: the proxy (public and API sides), the hub, and every user's server
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("LAB2A_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = c.JupyterHub.port + 2
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{c.JupyterHub.port + 1}"
c.ConfigurableHTTPProxy.command = [os.environ.get("LAB2A_PROXY", "configurable-http-proxy")]
c.Spawner.ip = "127.0.0.1"

STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

# System accounts: a member of either group logs in with their password; instructors administer the hub
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {INSTRUCTORS, STUDENTS}
c.PAMAuthenticator.admin_groups = {INSTRUCTORS}

# Each user's server: JupyterLab from the course's .venv, run as that user in their home folder
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 60


def instructor(name: str) -> bool:
    try:
        return name in grp.getgrnam(INSTRUCTORS).gr_mem
    except KeyError:
        return False


def per_user(spawner) -> None:
    """Instructors: the course folder as the server's root (Formgrader works on it). Students: their home,
    with Formgrader and the assignment-authoring tools switched off. Both read this folder's
    nbgrader_config.py (the exchange, and Validate through the sandbox)."""
    teaching = instructor(spawner.user.name)
    spawner.environment.update({
        "JUPYTER_CONFIG_PATH": os.pathsep.join([str(HERE)] if teaching else [str(HERE / "student"), str(HERE)]),
        "LAB2A_COURSE_DIR": COURSE, "LAB2A_EXCHANGE": EXCHANGE,
        "PATH": os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"]),  # nbgrader runs alembic
    })
    spawner.notebook_dir = COURSE if teaching else "~"


c.Spawner.pre_spawn_hook = per_user
