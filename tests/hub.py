"""The course's JupyterHub (deploy/jupyterhub/) run for a test on 127.0.0.1: configurable-http-proxy from npm
in a cache folder, system accounts made for the test (as root), the hub as a subprocess, and its log and
screenshots kept as artefacts. Used by tests/test_jupyterhub.py.
"""

import contextlib
import grp
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "jupyterhub"
VENV_BIN = Path(sys.executable).parent
ARTEFACTS = Path(os.environ.get("LAB2A_ARTEFACTS", ROOT / "test-artefacts")) / "jupyterhub"


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    """condition()'s first true value, polled until the deadline; TimeoutError naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(every)


def proxy_command() -> Path:
    """configurable-http-proxy, installed from npm with deploy/jupyterhub's lock file into a cache folder once."""
    lock = (DEPLOY / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lab2a" / (
        "configurable-http-proxy-" + hashlib.sha256(lock).hexdigest()[:12])
    command = cache / "node_modules" / ".bin" / "configurable-http-proxy"
    if not command.exists():
        cache.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(DEPLOY / name, cache / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=cache, check=True,
                       capture_output=True, timeout=300)
    return command


def free_ports(count: int) -> int:
    """A port p with p, p+1, ..., p+count-1 all free on 127.0.0.1 now."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first, first + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError("no free ports on 127.0.0.1")


@contextlib.contextmanager
def reachable(*paths: Path):
    """Every folder above these paths made traversable by other users (o+x) while the block runs, and set back
    after: the hub's users run this repository's .venv, whose Python may live under a private folder (here
    pyenv's, in /root). Traversing gives no right to list or read anything else."""
    changed = {}
    for path in paths:
        for folder in Path(path).resolve().parents:
            mode = folder.stat().st_mode
            if folder not in changed and not mode & 0o001:
                changed[folder] = mode & 0o7777
    try:
        for folder, mode in changed.items():
            folder.chmod(mode | 0o001)
        yield sorted(changed)
    finally:
        for folder, mode in changed.items():
            folder.chmod(mode)


@dataclass(frozen=True)
class Account:
    name: str
    password: str

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.name).pw_dir)

    def run(self, *command, **kwargs) -> subprocess.CompletedProcess:
        """A command run as this user (runuser, as root)."""
        return subprocess.run(["runuser", "-u", self.name, "--", *command], capture_output=True, text=True, **kwargs)


def in_instructor_terminal(account: Account, course: Path, exchange: Path, *command: str,
                           timeout: float) -> subprocess.CompletedProcess:
    """A command as an instructor types it in a terminal of their JupyterLab on the hub (File > New > Terminal):
    as that user, in the course folder (where their server opens), with the environment the hub gives their
    server (jupyterhub_config.per_user: deploy/jupyterhub/ on JUPYTER_CONFIG_PATH, the course's .venv first
    on PATH), and nothing of this process's."""
    env = {"HOME": str(account.home), "USER": account.name, "LANG": os.environ.get("LANG", "C.UTF-8"),
           "JUPYTER_CONFIG_PATH": str(DEPLOY), "LAB2A_COURSE_DIR": str(course),
           "LAB2A_EXCHANGE": str(exchange), "PATH": os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin",
                                                                      "/bin"])}
    return account.run("env", "-i", *(f"{name}={value}" for name, value in env.items()), *command, cwd=course,
                       timeout=timeout)


@contextlib.contextmanager
def accounts(group: str, names: list[str]):
    """System users in a group of their own (made, then removed with their homes): [Account]."""
    made = []
    try:
        if not _exists(grp.getgrnam, group):
            subprocess.run(["groupadd", group], check=True, capture_output=True)
        for name in names:
            if _exists(pwd.getpwnam, name):   # left by an interrupted run
                subprocess.run(["userdel", "--remove", "--force", name], capture_output=True)
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--groups", group, name],
                           check=True, capture_output=True)
            account = Account(name, secrets.token_urlsafe(12))
            subprocess.run(["chpasswd"], input=f"{name}:{account.password}\n", text=True, check=True,
                           capture_output=True)
            made.append(account)
        yield made
    finally:
        for account in made:
            subprocess.run(["userdel", "--remove", "--force", account.name], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)


def _exists(lookup, name) -> bool:
    try:
        lookup(name)
        return True
    except KeyError:
        return False


@dataclass
class Hub:
    url: str
    process: subprocess.Popen
    log: Path

    def user_url(self, name: str, path: str = "") -> str:
        return f"{self.url}/user/{name}/{path}"


@contextlib.contextmanager
def running_hub(state: Path, course: Path, exchange: Path, instructors: str, students: str):
    """deploy/jupyterhub/jupyterhub_config.py run as the course would run it, on free ports of 127.0.0.1;
    stopped (with every user's server, as the hub stops them) at the end."""
    port = free_ports(3)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTEFACTS / "jupyterhub.log"
    env = dict(os.environ, LAB2A_COURSE_DIR=str(course), LAB2A_EXCHANGE=str(exchange), LAB2A_HUB_STATE=str(state),
               LAB2A_HUB_PORT=str(port), LAB2A_INSTRUCTORS=instructors, LAB2A_STUDENTS=students,
               LAB2A_PROXY=str(proxy_command()), PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    with open(log, "w") as out:
        process = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")],
                                   cwd=state, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_for(lambda: _answers(f"{hub.url}/hub/api") or process.poll() is not None, 90, "the hub to answer")
        if process.poll() is not None:
            raise RuntimeError(f"the hub stopped (exit {process.returncode}):\n{log.read_text()[-4000:]}")
        yield hub
    finally:
        process.send_signal(signal.SIGTERM)   # the hub stops the users' servers and its proxy
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
