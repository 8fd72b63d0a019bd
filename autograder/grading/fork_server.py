"""The sandbox's fork server (sandbox/zygote.py), one per grader process: started once, it has torch imported
already, so a new worker costs milliseconds. Each worker gets a minimal environment and, when the grader
runs as root with LAB2A_SANDBOX_USER set, an unprivileged account to run as.
"""

import atexit
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from lab2a.autograder.grading.errors import GraderError
from lab2a.autograder.grading.installation import import_root
from lab2a.autograder.grading.limits import DEFAULT_LIMITS, Limits


def _environment(folder: str) -> dict:
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": folder, "TMPDIR": folder, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": os.path.join(folder, ".matplotlib"),
        # torch.compile needs a compiler in a new process, which the sandbox forbids: compiled code runs as is
        "TORCHDYNAMO_DISABLE": "1",
        # the worker imports the same lab2a as this grader (installation.py)
        "PYTHONPATH": str(import_root()),
    }
    # OPENBLAS_*: some machines need them set (older OpenBLAS builds crash or miscompute without).
    for name in ("CUDA_VISIBLE_DEVICES", "SYSTEMROOT", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env



def sandbox_user() -> list | None:
    """[name, uid, gid] of the account the student's code runs as, when this grader runs as root and
    LAB2A_SANDBOX_USER names one (Gradescope's run_autograder does): the worker drops root's privileges to
    it before it confines itself. None otherwise (the worker keeps this process's account)."""
    name = os.environ.get("LAB2A_SANDBOX_USER", "").strip()
    if not name or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise GraderError(f"LAB2A_SANDBOX_USER names {name!r}, which is no account here (useradd --system "
                          f"{name})") from None
    if entry.pw_uid == 0:
        raise GraderError(f"LAB2A_SANDBOX_USER must name an unprivileged account, not {name!r} (uid 0)")
    return [name, entry.pw_uid, entry.pw_gid]


class _ForkServer:
    """The sandbox's fork server (sandbox/zygote.py) of this grader process: started once, it has torch
    imported and forks each worker in milliseconds. It ends when this process does."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.lock = threading.Lock()
        self.folder = tempfile.mkdtemp(prefix="lab2a-zygote-")
        ours, theirs = socket.socketpair()
        self.log = open(os.path.join(self.folder, "log"), "w+b")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-s", "-P", "-m", "lab2a.autograder.sandbox.zygote",
                 "--control", str(theirs.fileno())],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, cwd=self.folder,
                env=_environment(self.folder), pass_fds=(theirs.fileno(),), start_new_session=True)
        except OSError as error:
            raise GraderError(f"could not start the sandbox's fork server ({sys.executable}): {error}") from None
        finally:
            theirs.close()
        self.control = ours
        self.ready = False
        self.buffer = b""

    def _line(self, timeout: float) -> tuple[dict, list]:
        deadline = time.monotonic() + timeout
        fds = []
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.control], [], [], remaining)[0]:
                raise GraderError(f"the sandbox's fork server did not answer within {timeout:g} s")
            data, received, _, _ = socket.recv_fds(self.control, 1 << 16, 1)
            if not data:
                self.log.seek(0)
                raise GraderError("the sandbox's fork server ended:\n"
                                  + self.log.read().decode("utf-8", "replace")[-3000:])
            self.buffer += data
            fds += received
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line), fds

    def spawn(self, folder: str, protect, fds: list, limits: Limits) -> tuple[int, int | None]:
        """A new worker in `folder` with these limits, given its four pipes and its shared memory; returns (pid,
        pidfd or None)."""
        with self.lock:
            if not self.ready:
                self._line(self.limits.startup)
                self.ready = True
            spec = {"folder": folder, "memory": limits.memory, "max_message": limits.max_message,
                    "protect": list(protect), "user": sandbox_user(), "threads": limits.threads}
            try:
                socket.send_fds(self.control, [json.dumps(spec).encode()], fds)
                answer, pidfds = self._line(self.limits.startup)
            except OSError as error:
                raise GraderError(f"the sandbox's fork server could not be reached: {error}") from None
        if not answer.get("pid"):
            raise GraderError("the sandbox's fork server could not start a worker")
        return answer["pid"], (pidfds[0] if pidfds else None)

    def close(self) -> None:
        self.control.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_servers = {}
_servers_lock = threading.Lock()


def fork_server(limits: Limits) -> _ForkServer:
    """This process's fork server (the limits of each worker go with its request: one server serves all)."""
    key = limits.startup
    with _servers_lock:
        server = _servers.get(key)
        if server is None or server.process.poll() is not None:
            if server is not None:
                server.close()  # it died (killed, say): its folder goes
            server = _servers[key] = _ForkServer(limits)
        return server


def _warm_torch() -> None:
    import torch

    taps = torch.zeros(1, requires_grad=True)
    taps.grad = torch.zeros(1)
    torch.optim.SGD([taps], lr=0.1).step()  # its first step imports torch._dynamo: over a second


def start_early(limits: Limits = DEFAULT_LIMITS) -> None:
    """Start what grading waits for, in the background, before this process imports the grader: the fork
    server (torch imported there) and, here, torch with what an optimizer's first step loads. Saves some
    seconds on a command that grades one notebook."""
    try:
        fork_server(limits)
    except GraderError:
        return  # grading says so, in its turn
    threading.Thread(target=_warm_torch, daemon=True).start()


@atexit.register
def _close_fork_servers() -> None:
    for server in _servers.values():
        server.close()

