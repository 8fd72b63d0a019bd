"""A bound on the worker's threads that the kernel keeps: a pids cgroup of its own per worker.

The grader also polls the worker's thread count, but a poll comes late: a loop can start a thousand
threads between two looks. RLIMIT_NPROC (confine.py) bounds the tasks of an account, but the kernel
exempts root (uid 0, whatever its capabilities), so a grader that runs as root without
LAB2A_SANDBOX_USER gets no bound from it. A pids cgroup bounds every task in it, root's included.

The fork server (zygote.py) makes one folder of its own in the pids hierarchy it runs in (cgroup v1's
`pids` controller, or cgroup v2 where `pids` is enabled for its children), and each worker, before it
drops privileges and confines itself, makes its own cgroup there, sets `pids.max` and moves itself in.
A confined worker can't leave it: Landlock lets it write only its own folder, and it holds no
capability. Where no such hierarchy is writable (a container that mounts /sys/fs/cgroup read-only, an
unprivileged grader without delegation, macOS) nothing is made and the report says which bound holds.
"""

import os

_V1 = "/sys/fs/cgroup/pids"


def _own_cgroup() -> tuple[str, str] | None:
    """(the folder of this process's cgroup in a pids hierarchy, "v1" or "v2"), or None."""
    try:
        with open("/proc/self/cgroup") as lines:
            entries = [line.rstrip("\n").split(":", 2) for line in lines]
    except OSError:
        return None
    for _number, controllers, path in entries:
        if "pids" in controllers.split(",") and os.path.isdir(_V1):
            joined = os.path.join(_V1, path.lstrip("/"))  # a container may see its own cgroup as the root
            return (joined if os.path.isdir(joined) else _V1), "v1"
    unified = next((path for number, controllers, path in entries if number == "0" and controllers == ""), None)
    mount = _v2_mount()
    if unified is not None and mount:
        return os.path.join(mount, unified.lstrip("/")), "v2"
    return None


def _v2_mount() -> str | None:
    try:
        with open("/proc/self/mountinfo") as lines:
            for line in lines:
                before, _, after = line.partition(" - ")
                if after.split(" ", 1)[0] == "cgroup2":
                    return before.split()[4]
    except OSError:
        pass
    return None


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)


class Pids:
    """The fork server's folder in a pids hierarchy; a cgroup per worker inside it."""

    def __init__(self, folder: str):
        self.folder = folder

    @classmethod
    def create(cls) -> "Pids | None":
        """This process's folder for its workers' cgroups, or None where none can be made."""
        own = _own_cgroup()
        if own is None:
            return None
        parent, version = own
        _remove_stale(parent)
        folder = os.path.join(parent, f"lab2a-{os.getpid()}")
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        except OSError:
            return None
        try:
            if version == "v2":  # the workers' cgroups need the pids controller from their parent
                _write(os.path.join(folder, "cgroup.subtree_control"), "+pids")
            probe = os.path.join(folder, "probe")
            os.mkdir(probe)
            usable = os.path.exists(os.path.join(probe, "pids.max"))
            os.rmdir(probe)
        except OSError:
            usable = False
        if not usable:
            _remove(folder)
            return None
        return cls(folder)

    def enter(self, limit: int) -> bool:
        """Move this process (the worker, single-threaded just after its fork) into a new cgroup of its own
        with at most `limit` tasks; whether that held."""
        own = os.path.join(self.folder, f"w{os.getpid()}")
        try:
            os.mkdir(own)
            _write(os.path.join(own, "pids.max"), str(limit))
            _write(os.path.join(own, "cgroup.procs"), str(os.getpid()))
        except OSError:
            _remove(own)
            return False
        return True

    def remove(self, pid: int) -> None:
        """The cgroup of a worker that has ended (reaped: it holds no task)."""
        _remove(os.path.join(self.folder, f"w{pid}"))

    def close(self) -> None:
        try:
            for name in os.listdir(self.folder):
                if name.startswith("w"):
                    _remove(os.path.join(self.folder, name))
        except OSError:
            pass
        _remove(self.folder)


def _remove_stale(parent: str) -> None:
    """The folders of fork servers that were killed outright (their process is gone): empty, removed."""
    try:
        names = [n for n in os.listdir(parent) if n.startswith("lab2a-") and n[6:].isdigit()]
    except OSError:
        return
    for name in names:
        if not os.path.exists(f"/proc/{name[6:]}"):
            Pids(os.path.join(parent, name)).close()


def _remove(folder: str) -> None:
    try:
        os.rmdir(folder)  # a cgroup is removed with rmdir once it holds no task
    except OSError:
        pass
