"""What a copy of the grader outside the course repository holds: the lab2a package as a plain folder.

A student's copy (the GitHub template, the Classroom 50 bundle, served publicly) has the data builder, the
visible checks, the judge, the sandbox, the grader and the `lab2a` command, the release notebook (the
grader tells the lab's cells from the student's by it), and the reference loop's results for the public
inputs frozen to JSON; the student's own (the GitHub template) also a setup.sh that installs its
requirements.txt with torch's CPU build where there is no NVIDIA GPU (lab2a/torch_index.py decides, as for the
course repository's setup.sh). It never has the solutions, the source notebook,
autograder/private/ (the hidden checks, the reference training loop, the grading key) or the TA's tools.
A grader's copy (the Gradescope bundle, never shown to students) adds autograder/private/.
"""

import shutil
import tomllib
from pathlib import Path

from lab2a.autograder.checks.train import TRAJECTORY
from lab2a.autograder.grading.installation import RELEASE_IN_COPY
from lab2a.autograder.judge.training import freeze_runs
from lab2a.torch_index import CPU_INDEX  # the one place it is written (setup.sh reads it there too)

# The TA's channels: no copy needs them (each channel's own module goes with its bundle's entry point).
TA_ONLY = {"nbgrader", "batch.py", "class_report"}
PRIVATE = "private"
# of lab2a/: not demo.py, bench.py or samples.py (the TA's tools, the solutions); torch_index.py is
# setup.sh's choice of torch
COMMAND_FILES = ("__init__.py", "cli.py", "quick_exit.py", "torch_index.py")
TORCH = "torch==2.13.0"  # its CPU wheel where there is no NVIDIA GPU (torch_index.py)
TA_ONLY_DEPENDENCIES = ("nbgrader", "nbclient", "nbconvert")
# For students: the notebook needs a Jupyter (VS Code's needs only ipykernel, in the requirements).
# pytest: the kit's README runs the checks through the pytest plugin too.
STUDENT_TOOLS = ("jupyterlab", "pytest")
# The Python every export's requirements are installed and tested on (GitHub's workflow, Gradescope's
# setup.sh; Classroom 50's runtime block, which its bundle's README names).
PYTHON = (3, 11)

# The student kit's installer: the same rule for torch as the course repository's setup.sh (torch_index.py).
SETUP = """#!/usr/bin/env bash
# Install what this lab needs into .venv (safe to run again), then:
#   source .venv/bin/activate && jupyter lab lab2a.ipynb      (or pick .venv's Python as VS Code's kernel)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
python="${PYTHON:-python3}"   # PYTHON=python3.11 ./setup.sh to use another one
if [ ! -x .venv/bin/python ]; then
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "setup.sh: the lab needs Python 3.11 or newer; $python is $("$python" -V 2>&1)" >&2; exit 1; }
    "$python" -c 'import sys; sys.exit(sys.version_info[:2] == {tested})' &&
        echo "setup.sh: $("$python" -V 2>&1): the lab's requirements are tested on Python {tested_text}" >&2
    "$python" -m venv .venv
fi
# Where torch comes from (lab2a/torch_index.py says which and why, in one line): without an NVIDIA GPU on
# Linux, PyTorch's CPU index (not PyPI's CUDA build of several GB), or pip's configured index when that
# one can't be reached within 4 s; on macOS or with an NVIDIA GPU, pip's configured index (PyPI).
torch_index=$(.venv/bin/python lab2a/torch_index.py)
# shellcheck disable=SC2086  # empty, or "--extra-index-url URL": two words
.venv/bin/python -m pip install --quiet --disable-pip-version-check $torch_index -r requirements.txt \\
    {tools}
.venv/bin/python lab2a/torch_index.py --installed   # which build came (a mirror may serve the CPU one)
echo "setup.sh: done. Next: source .venv/bin/activate, then jupyter lab lab2a.ipynb"
""".replace("{tools}", " ".join(STUDENT_TOOLS)).replace("{tested_text}", ".".join(map(str, PYTHON))).replace(
    "{tested}", repr(PYTHON))


def requirements(repository: Path) -> str:
    """The project's dependencies, with torch pinned and the TA's tools left out; no index option: every
    install path asks lab2a/torch_index.py for torch's index (so none waits minutes when PyTorch's CPU index
    can't be reached)."""
    project = tomllib.loads((repository / "pyproject.toml").read_text())["project"]
    lines = ["# Installed by setup.sh (or autograder.py), with torch's CPU build on Linux without an NVIDIA GPU:",
             "# lab2a/torch_index.py chooses the index. By hand, on Linux without an NVIDIA GPU:",
             f"#   pip install --extra-index-url {CPU_INDEX} -r requirements.txt",
             "# (plain `pip install -r requirements.txt` takes PyPI's torch: the CUDA build on Linux, several GB)",
             TORCH]
    for dependency in project["dependencies"]:
        name = dependency.split(">")[0].split("<")[0].split("=")[0].strip()
        if name != "torch" and name not in TA_ONLY_DEPENDENCIES:
            lines.append(dependency)
    return "\n".join(lines) + "\n"


def write_setup(dest: Path) -> Path:
    """The student kit's setup.sh (executable) at dest."""
    path = dest / "setup.sh"
    path.write_text(SETUP)
    path.chmod(0o755)
    return path


def write_package(repository: Path, dest: Path, private: bool = False) -> Path:
    """The lab2a package at dest/lab2a; with private=True, the hidden checks and the grading key too."""
    package = dest / "lab2a"
    package.mkdir(parents=True)
    for name in COMMAND_FILES:
        shutil.copy(repository / "lab2a" / name, package / name)
    shutil.copytree(repository / "data", package / "data",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pt", "*.json", "*_examples"))
    left_out = TA_ONLY if private else TA_ONLY | {PRIVATE}
    shutil.copytree(repository / "autograder", package / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__", *left_out))
    shutil.copy(repository / "release" / "lab2a" / "lab2a.ipynb", package / RELEASE_IN_COPY)  # as handed out
    if not private:  # the reference loop stays home: its results for the public inputs go instead
        freeze_runs([TRAJECTORY], package / "autograder" / "judge" / "frozen_runs.json")
    return package
