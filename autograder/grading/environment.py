"""Where a grade came from: the grader's Python, torch, numpy and nbgrader, the machine, the device and what
the sandbox enforced, and the grader's own version. Written into every report by the grader's process (never
by the student's sandbox, which could say anything), so that a regrade elsewhere can be compared with it.
"""

import hashlib
import os
import platform
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

AUTOGRADER = Path(__file__).resolve().parents[1]


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@cache
def grader_version() -> str:
    """The lab2a package's version and a digest of the grader's source (the autograder/ folder's .py files):
    two graders with the same string grade with the same code."""
    digest = hashlib.sha256()
    for path in sorted(AUTOGRADER.rglob("*.py")):
        digest.update(path.relative_to(AUTOGRADER).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{_version('lab2a') or 'unknown'}+{digest.hexdigest()[:12]}"


def device() -> str:
    """The grader's device for the GPU check: "cpu", or "cuda (the GPU's name)"."""
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


def confinement(sandbox: dict | None) -> str:
    """One line: "confined", "not confined: <what was missing>", or that no student code ran."""
    if not sandbox:
        return "no sandbox started (nothing of the student's ran)"
    if sandbox.get("confined"):
        return "confined"
    missing = [f"{k}: {v}" for k, v in sandbox.items() if k != "confined" and str(v).startswith("not")]
    return "not confined: " + ("; ".join(missing) or "see sandbox")


@cache
def _fixed() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "nbgrader": _version("nbgrader"), "platform": platform.platform(), "cpus": os.cpu_count(),
            "device": device(), "grader": grader_version()}


def fingerprint(sandbox: dict | None) -> dict:
    """The environment object of a report (docs/ta.md, the report (JSON))."""
    return {**_fixed(), "confinement": confinement(sandbox)}
