"""Confining the student's code while it is graded: it may write files only inside one folder, and may
not signal processes outside its own (the grader, nbgrader, other students' kernels).

Linux Landlock (kernel 5.13 and newer) does this for an unprivileged process and every process it starts,
irreversibly: reads stay allowed everywhere (the code needs Python, torch and the data), while creating,
writing, truncating, renaming or deleting a file outside the folder fails with PermissionError. Signal
scoping needs Landlock ABI 6 (kernel 6.12). Where Landlock is missing (macOS, older kernels, some
containers) confine() changes nothing and says so; the other limits (time, memory) still apply.

Used in both channels: the isolated worker of `lab2a grade` confines itself to its scratch folder before it
runs any student code, and nbgrader's kernels confine themselves to the submission's folder at startup,
before the notebook's first cell (grading_kernel.py).
"""

import ctypes
import ctypes.util
import os
import platform

# syscall numbers: the same on every architecture that has Landlock (added after the numbering was unified)
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# filesystem access rights (include/uapi/linux/landlock.h), by the ABI version that introduced them
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE = sum(1 << bit for bit in range(6, 13))     # char, dir, reg, sock, fifo, block, sym
_REFER, _TRUNCATE = 1 << 13, 1 << 14                # ABI 2, ABI 3
_SCOPE_SIGNAL = 1 << 1                              # ABI 6


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def abi_version() -> int:
    """Landlock's ABI version on this machine, 0 where there is none."""
    if platform.system() != "Linux":
        return 0
    try:
        version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(version, 0)


def confine(folder, abi: int | None = None) -> str:
    """Allow this process (and what it starts) to write only beneath `folder` (and to devices such as
    /dev/null), and, where the kernel can, to signal only processes inside the same confinement.
    Returns one line saying what is enforced; raises nothing. abi: use only what this Landlock ABI
    version offers (default: this kernel's), as on an older kernel."""
    abi = min(abi_version(), abi or 1 << 30)
    if abi < 1:
        return "not confined: this system has no Landlock (files outside the folder can be written)"
    handled = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE
    handled |= _REFER if abi >= 2 else 0
    handled |= _TRUNCATE if abi >= 3 else 0
    # The struct grew with the ABI; the kernel refuses fields it doesn't know, so pass only the known part.
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    attr = _RulesetAttr(handled, 0, _SCOPE_SIGNAL if abi >= 6 else 0)
    libc = _libc()
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"not confined: Landlock refused the rules ({os.strerror(ctypes.get_errno())})"
    try:
        rules = [(os.fspath(folder), handled), ("/dev", _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0))]
        for path, allowed in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneathAttr(allowed, fd)
                if libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                    return f"not confined: Landlock refused the rule for {path} ({os.strerror(ctypes.get_errno())})"
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 or libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) < 0:
            return f"not confined: Landlock could not be enforced ({os.strerror(ctypes.get_errno())})"
    except OSError as error:
        return f"not confined: {error}"
    finally:
        os.close(ruleset)
    # (the same words for every folder: a report must not change from one run to the next)
    signals = "; signals reach only processes started inside the confinement" if abi >= 6 else ""
    return f"confined (Landlock ABI {abi}): files can be written only inside the code's own folder{signals}"
