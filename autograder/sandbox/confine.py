"""Confining the process that runs the student's code, before the first line of it runs.

The student's process gets what running its code needs and nothing worth stealing or forging:

  * files (Linux Landlock, kernel 5.13+): it may read the Python runtime (the interpreter, the
    standard library, site-packages, the shared libraries loaded) and a few system files, and read
    and write its own folder; nothing else: not the repository, the grader's modules, the gradebook,
    a home directory or any submission;
  * network (seccomp): socket() and socketpair() fail, so no connection of any kind (TCP, UDP, a Unix
    socket such as Docker's or D-Bus's, a connected pair); Landlock also refuses TCP where the kernel can (ABI 4+);
  * processes (seccomp): it can start threads but no process (fork, vfork, clone without
    CLONE_THREAD fail), so nothing it does outlives it; it can signal, trace or read the memory of
    no other process; system calls that load kernel modules or make namespaces fail too; and it
    holds no capability, even when the grader runs as root;
  * memory and files: an address-space limit (set hard, so it can't be raised), no shared memory
    outside it (System V, memfd), files of at most 64 MiB, 256 open at once, no core dumps.

confine() returns a Confinement saying, per layer, what holds, so every report says it in plain
words. Where Linux offers none of it (macOS), nothing is confined and the report says so.
Everything here is ctypes over Linux system calls: no privileges and no packages are needed.
"""

import ctypes
import ctypes.util
import functools
import os
import platform
import resource
import signal
import site
import sys
import sysconfig
from dataclasses import asdict, dataclass
from pathlib import Path

MAX_FILE_BYTES = 64 << 20
MAX_OPEN_FILES = 256
MAX_TASKS = 64  # processes and threads of the grader's user beyond those it has, where the kernel counts them
# (a pids cgroup per worker, tasks.py, bounds the worker's own threads, root's too, where one can be made)


@dataclass
class Confinement:
    """What is enforced, in words for a TA; `confined` when files, network and processes all are."""
    files: str = "not confined"
    network: str = "not confined"
    processes: str = "not confined"
    memory: str = "not limited"
    user: str = ""
    confined: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@functools.cache
def _libc():
    # found once, before confining: find_library may run a compiler, which a confined process can't
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _errno() -> str:
    return os.strerror(ctypes.get_errno())


# ---- Landlock: files ----------------------------------------------------------------------------------

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446   # the same number on every architecture
_PR_SET_NO_NEW_PRIVS = 38
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REMOVE = (1 << 4) | (1 << 5)
_MAKE = sum(1 << bit for bit in range(6, 13))   # char, dir, reg, sock, fifo, block, sym
_MAKE_DEVICES = (1 << 6) | (1 << 11)            # char, block: never in the folder (root could read a disk raw)
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15   # ABI 2, 3, 5
_NET_TCP = (1 << 0) | (1 << 1)                              # bind, connect: ABI 4
_SCOPES = (1 << 0) | (1 << 1)                               # abstract Unix sockets, signals: ABI 6
_FILE_ONLY = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
_READ = _READ_FILE | _READ_DIR | _EXECUTE
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version() -> int:
    """Landlock's ABI version on this machine, 0 where there is none."""
    if platform.system() != "Linux":
        return 0
    try:
        version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(version, 0)


def runtime_paths() -> list[Path]:
    """What running Python, torch and numpy needs to read: the interpreter's folders, site-packages,
    the folders of the shared libraries loaded now, and a few system files (names of users and time
    zones, fonts for plots)."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix)}
    paths = {path for name, path in sysconfig.get_paths().items() if name not in ("data", "include", "platinclude")}
    paths.update(site.getsitepackages())
    # sys.path entries of the runtime (lib-dynload, the zipped stdlib), not the working or the grader's folder
    paths.update(entry for entry in sys.path if entry and any(
        os.path.realpath(entry).startswith(prefix + os.sep) for prefix in prefixes))
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    paths.add(os.path.join(sys.prefix, "pyvenv.cfg"))
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                parts = line.split(maxsplit=5)
                # files only: a memfd ("/memfd:name (deleted)", the memory the grader shares with the worker)
                # or a removed file would give "/" or its folder
                if len(parts) == 6 and parts[5].startswith("/") and os.path.isfile(parts[5].strip()):
                    paths.add(os.path.dirname(parts[5].strip()))
    except OSError:
        pass
    paths.update(("/etc/ld.so.cache", "/etc/localtime", "/usr/share/zoneinfo", "/etc/nsswitch.conf",
                  "/etc/passwd", "/etc/group", "/usr/lib/locale", "/usr/share/fonts", "/etc/fonts"))
    return sorted({Path(p).resolve() for p in paths if p and os.path.exists(p)})


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def readable_rules(roots, protected) -> list[Path]:
    """The roots, with every root that contains a protected path replaced by its other entries, so a
    site-packages holding an installed copy of the grader is readable and the grader in it is not."""
    rules = []
    for root in roots:
        if any(_inside(root, p) for p in protected):
            continue
        if not any(_inside(p, root) for p in protected):
            rules.append(root)
            continue
        try:
            entries = sorted(root.iterdir())
        except OSError:
            continue
        rules.extend(readable_rules(entries, protected))
    return rules


def _add_rule(libc, ruleset: int, path: Path, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that can't be opened stays unreadable
    try:
        rule = _PathBeneathAttr(rights if os.path.isdir(path) else rights & _FILE_ONLY, fd)
        libc.syscall(_ADD_RULE, ruleset, 1, ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(fd)


def landlock(folder: Path, readable, protected=(), abi: int | None = None) -> tuple[str, str]:
    """Reads of `readable` (less `protected`), reads and writes in `folder`; no TCP (ABI 4+); no signals
    or abstract sockets out (ABI 6+). Returns (what holds for files, what it adds for the network)."""
    abi = min(abi_version(), abi or 1 << 30)
    if abi < 1:
        return "not confined: this system has no Landlock (Linux 5.13 or newer)", ""
    libc = _libc()
    fs = _EXECUTE | _WRITE_FILE | _READ_FILE | _READ_DIR | _REMOVE | _MAKE
    fs |= (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0) | (_IOCTL_DEV if abi >= 5 else 0)
    net = _NET_TCP if abi >= 4 else 0
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)  # the struct grew with the ABI
    attr = _RulesetAttr(fs, net, _SCOPES if abi >= 6 else 0)
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"not confined: Landlock refused the rules ({_errno()})", ""
    try:
        for path in readable_rules(readable, [Path(p).resolve() for p in protected]):
            _add_rule(libc, ruleset, path, _READ)
        for device in _DEVICES:
            _add_rule(libc, ruleset, Path(device), (_READ_FILE | _WRITE_FILE | _TRUNCATE | _IOCTL_DEV) & fs)
        _add_rule(libc, ruleset, Path(folder), fs & ~_MAKE_DEVICES)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0:
            return f"not confined: no_new_privs could not be set ({_errno()})", ""
        if libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) < 0:
            return f"not confined: Landlock could not be enforced ({_errno()})", ""
    finally:
        os.close(ruleset)
    return (f"reads only the Python runtime and its own folder, writes only its own folder (Landlock ABI {abi})",
            "TCP refused (Landlock)" if net else "")


# ---- seccomp: no sockets, no processes, no one else's signals ---------------------------------------------

_NUMBERS = {
    "x86_64": dict(
        arch=0xC000003E, clone=56, clone3=435,
        socket=41, socketpair=53, fork=57, vfork=58, tkill=200, pidfd_send_signal=424, pidfd_open=434, ptrace=101,
        process_vm_readv=310, process_vm_writev=311, io_uring_setup=425, init_module=175, finit_module=313,
        kexec_load=246, kexec_file_load=320, bpf=321, perf_event_open=298, userfaultfd=323, unshare=272, setns=308,
        open_by_handle_at=304, keyctl=250, add_key=248, kcmp=312, migrate_pages=256, move_pages=279,
        chmod=90, fchmod=91, fchmodat=268, fchmodat2=452, chown=92, fchown=93, lchown=94, fchownat=260,
        utime=132, utimes=235, futimesat=261, utimensat=280, truncate=76, setxattr=188, lsetxattr=189,
        fsetxattr=190, removexattr=197, lremovexattr=198, fremovexattr=199, setxattrat=463, removexattrat=466,
        shmget=29, shmat=30, shmctl=31, shmdt=67, semget=64, semop=65, semctl=66, semtimedop=220, msgget=68,
        msgsnd=69, msgrcv=70, msgctl=71, mq_open=240, memfd_create=319, memfd_secret=447, fallocate=285,
        kill=62, tgkill=234, rt_sigqueueinfo=129, rt_tgsigqueueinfo=297, prlimit64=302, sched_setaffinity=203,
        sched_setscheduler=144, sched_setparam=142, sched_setattr=314, setpriority=141, ioprio_set=251),
    "aarch64": dict(
        arch=0xC00000B7, clone=220, clone3=435,
        socket=198, socketpair=199, tkill=130, pidfd_send_signal=424, pidfd_open=434, ptrace=117, process_vm_readv=270,
        process_vm_writev=271, io_uring_setup=425, init_module=105, finit_module=273, kexec_load=104,
        kexec_file_load=294, bpf=280, perf_event_open=241, userfaultfd=282, unshare=97, setns=268,
        open_by_handle_at=265, keyctl=219, add_key=217, kcmp=272, migrate_pages=238, move_pages=239,
        fchmod=52, fchmodat=53, fchmodat2=452, fchown=55, fchownat=54, utimensat=88, truncate=45, setxattr=5,
        lsetxattr=6, fsetxattr=7, removexattr=14, lremovexattr=15, fremovexattr=16, setxattrat=463,
        removexattrat=466,
        shmget=194, shmctl=195, shmat=196, shmdt=197, semget=190, semctl=191, semtimedop=192, semop=193,
        msgget=186, msgctl=187, msgrcv=188, msgsnd=189, mq_open=180, memfd_create=279, memfd_secret=447,
        fallocate=47,
        kill=129, tgkill=131, rt_sigqueueinfo=138, rt_tgsigqueueinfo=240, prlimit64=261, sched_setaffinity=122,
        sched_setscheduler=119, sched_setparam=118, sched_setattr=274, setpriority=140, ioprio_set=30),
}
# Refused outright: sockets (socketpair too: nothing after confinement needs one, torch's and numpy's CPU
# paths included; an asyncio loop, which makes one, can't run anyway without socket()), processes, other
# processes' memory, the kernel's own state, namespaces, every change of a file's metadata (Landlock guards
# a file's contents, not its mode, owner, times or attributes; truncate(path) before Landlock ABI 3), and
# shared memory.
_REFUSED = ("socket", "socketpair", "fork", "vfork", "tkill", "pidfd_send_signal", "pidfd_open", "ptrace",
            "process_vm_readv", "process_vm_writev", "io_uring_setup", "init_module", "finit_module", "kexec_load",
            "kexec_file_load",
            "bpf", "perf_event_open", "userfaultfd", "unshare", "setns", "open_by_handle_at", "keyctl", "add_key",
            "kcmp", "migrate_pages", "move_pages", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown",
            "lchown", "fchownat", "utime", "utimes", "futimesat", "utimensat", "truncate", "setxattr", "lsetxattr",
            "fsetxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat", "removexattrat",
            # memory outside the address-space limit that outlives the process (System V, POSIX queues),
            # or that is not counted in it (memfd); disk space taken at once (fallocate)
            "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget", "msgsnd",
            "msgrcv", "msgctl", "mq_open", "memfd_create", "memfd_secret", "fallocate")
# Allowed on this process only: their first argument is a process id (0: this process, for most).
_OWN_PROCESS_ONLY = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "prlimit64", "sched_setaffinity",
                     "sched_setscheduler", "sched_setparam", "sched_setattr")
# Their second argument is the process id, and the first must say "a process" (PRIO_PROCESS 0, IOPRIO_WHO_PROCESS 1).
_WHO_OWN_PROCESS = {"setpriority": 0, "ioprio_set": 1}
_CLONE_THREAD = 0x00010000
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _EACCES, _ENOSYS = 0x7FFF0000, 0x00050000 | 13, 0x00050000 | 38   # SECCOMP_RET_ERRNO | errno


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def _filter_program(numbers: dict, pid: int) -> list[tuple]:
    """The BPF program; each instruction is (code, jump if true, jump if false, k)."""
    arg0, arg1 = 16, 24  # offsetof(struct seccomp_data, args[i]): the low 32 bits, on a little-endian machine
    program = [(_LD, 0, 0, 4), (_JEQ, 1, 0, numbers["arch"]), (_RET, 0, 0, _EACCES),   # another ABI: refused
               (_LD, 0, 0, 0), (_JGE, 0, 1, 0x40000000), (_RET, 0, 0, _EACCES)]        # x32: refused
    for name in _REFUSED:
        if name in numbers:
            program += [(_JEQ, 0, 1, numbers[name]), (_RET, 0, 0, _EACCES)]
    # clone3 can't be inspected (its flags are behind a pointer): ENOSYS, and the C library falls back to clone
    program += [(_JEQ, 0, 1, numbers["clone3"]), (_RET, 0, 0, _ENOSYS)]
    # clone: threads only
    program += [(_JEQ, 0, 4, numbers["clone"]), (_LD, 0, 0, arg0), (_JSET, 0, 1, _CLONE_THREAD),
                (_RET, 0, 0, _ALLOW), (_RET, 0, 0, _EACCES)]
    for name in _OWN_PROCESS_ONLY:  # the pid: 0 (this process) or this process's own
        program += [(_JEQ, 0, 5, numbers[name]), (_LD, 0, 0, arg0), (_JEQ, 2, 0, 0), (_JEQ, 1, 0, pid),
                    (_RET, 0, 0, _EACCES), (_RET, 0, 0, _ALLOW)]
    for name, which in _WHO_OWN_PROCESS.items():  # "a process", then the pid in the second argument
        program += [(_JEQ, 0, 7, numbers[name]), (_LD, 0, 0, arg0), (_JEQ, 0, 3, which), (_LD, 0, 0, arg1),
                    (_JEQ, 2, 0, 0), (_JEQ, 1, 0, pid), (_RET, 0, 0, _EACCES), (_RET, 0, 0, _ALLOW)]
    return program + [(_RET, 0, 0, _ALLOW)]


def seccomp() -> str:
    """Install the filter; returns what it enforces, "" where it can't be installed."""
    numbers = _NUMBERS.get(platform.machine()) if platform.system() == "Linux" else None
    if numbers is None:
        return ""
    program = _filter_program(numbers, os.getpid())
    prog = _SockFprog(len(program), (_SockFilter * len(program))(*program))
    libc = _libc()
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) < 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        return ""
    return "seccomp"


# ---- capabilities and limits --------------------------------------------------------------------------------

class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """No capability left: a grader run as root gives the student's code no root powers."""
    libc = _libc()
    for cap in range(64):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails without CAP_SETPCAP: then there is none to drop)
    libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), ctypes.byref((_CapData * 2)()))


def _limit(which, value: int) -> None:
    """Soft and hard limit both: without capabilities the process can't raise either again."""
    try:
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass


def _tasks_of(uid: int) -> int:
    """How many processes and threads this user runs now (RLIMIT_NPROC counts them all)."""
    count = 0
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{name}/status") as status:
                lines = {line.split(":")[0]: line.split()[1:] for line in status if line.startswith(("Uid", "Threads"))}
            if int(lines["Uid"][0]) == uid:
                count += int(lines["Threads"][0])
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return count


def _account() -> str:
    """Who the student's code runs as, in words."""
    if not hasattr(os, "getuid"):
        return "the grader's account"
    try:
        import pwd
        name = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        name = "an account"
    return f"{name} (uid {os.getuid()})" + (", without root's capabilities" if os.getuid() == 0 else "")


def _threads_bound(tasks) -> str:
    """Bound the threads by RLIMIT_NPROC where the kernel applies it (not to root); what bounds them, in words."""
    bounds = []
    if tasks:  # the fork server put this process in a pids cgroup (tasks.py)
        bounds.append(f"at most {tasks[1]} threads: the kernel refuses more (a pids cgroup)")
    if os.geteuid() != 0:  # RLIMIT_NPROC counts every task of the account, and never root's
        _limit(resource.RLIMIT_NPROC, _tasks_of(os.getuid()) + MAX_TASKS)
        # loose alone: the count is the account's, so other processes of that account ending leave it more room
        bounds.append(f"at most {MAX_TASKS} tasks more than its account ran when it started (RLIMIT_NPROC)")
    if bounds:
        return "; ".join(bounds)
    return ("threads NOT bounded by the kernel here (it runs as root, which RLIMIT_NPROC exempts, and no pids cgroup "
            "could be made): only the grader's poll of its thread count stops it, after the fact (give a root grader "
            "LAB2A_SANDBOX_USER, or a writable pids cgroup)")


def confine(folder, memory: int, protected=(), abi: int | None = None, tasks=None) -> Confinement:
    """Confine this process (and its threads) as the module says; returns what holds. Call after the
    imports the student's code needs and before it runs. protected: paths never readable, even inside
    the runtime (an installed copy of the grader). abi: use at most this Landlock ABI (to test what
    older kernels give). tasks: ("cgroup", n) when this process is in a pids cgroup of n tasks (tasks.py)."""
    result = Confinement()
    result.user = _account()
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_FSIZE, MAX_FILE_BYTES)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, MAX_OPEN_FILES)
    threads = _threads_bound(tasks)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # too large a file: an OSError, not a killed process
    result.memory = (f"{memory / 2 ** 30:g} GiB of address space; files of at most {MAX_FILE_BYTES >> 20} MiB, "
                     f"{MAX_OPEN_FILES} open at once; no shared memory")
    if platform.system() != "Linux":
        result.files = result.network = result.processes = f"not confined: {platform.system()} is not Linux"
        return result
    _libc()
    readable = runtime_paths()  # while /proc/self/maps can still be read
    drop_capabilities()
    result.files, tcp = landlock(Path(folder).resolve(), readable, protected, abi)
    if seccomp():
        result.network = "none: socket() and socketpair() are refused (seccomp)" + (f"; {tcp}" if tcp else "")
        result.processes = ("none can be started (only threads), so nothing outlives the grade; no signals, "
                            f"tracing or memory reads of other processes (seccomp); {threads}")
    else:
        result.network = "not confined: seccomp is not available" + (f" ({tcp})" if tcp else "")
        result.processes = ("not confined: seccomp is not available, so started processes may outlive the grade; "
                            + threads)
    result.confined = not any(text.startswith("not") for text in (result.files, result.network, result.processes))
    return result
