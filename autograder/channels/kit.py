"""What a copy of the grader outside the course repository holds: the lab2a package as a plain folder.

A student's copy (the GitHub template, the Classroom 50 bundle, served publicly) has the data builder, the
visible checks, the judge, the sandbox, the grader and the `lab2a` command, the release notebook (the
grader tells the lab's cells from the student's by it), and the reference loop's results for the public
inputs frozen to JSON. It never has the solutions, the source notebook,
autograder/private/ (the hidden checks, the reference training loop, the grading key) or the TA's tools.
A grader's copy (the Gradescope bundle, never shown to students) adds autograder/private/.
"""

import shutil
import tomllib
from pathlib import Path

from lab2a.autograder.checks.train import TRAJECTORY
from lab2a.autograder.judge.training import freeze_runs

# The TA's channels: no copy needs them (each channel's own module goes with its bundle's entry point).
TA_ONLY = {"nbgrader", "samples.py", "batch.py", "class_report"}
PRIVATE = "private"
COMMAND_FILES = ("__init__.py", "cli.py")  # of lab2a/: not demo.py or bench.py (the TA's tools, the solutions)
TORCH = "torch==2.13.0"  # the CPU wheel, from PyTorch's CPU index below
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TA_ONLY_DEPENDENCIES = ("nbgrader", "nbclient", "nbconvert")


def requirements(repository: Path) -> str:
    """The project's dependencies, with torch pinned to the CPU build and the TA's tools left out."""
    project = tomllib.loads((repository / "pyproject.toml").read_text())["project"]
    lines = [f"--extra-index-url {CPU_INDEX}", TORCH]
    for dependency in project["dependencies"]:
        name = dependency.split(">")[0].split("<")[0].split("=")[0].strip()
        if name != "torch" and name not in TA_ONLY_DEPENDENCIES:
            lines.append(dependency)
    return "\n".join(lines) + "\n"


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
    shutil.copy(repository / "release" / "lab2a" / "lab2a.ipynb", package / "release.ipynb")  # as handed out
    if not private:  # the reference loop stays home: its results for the public inputs go instead
        freeze_runs([TRAJECTORY], package / "autograder" / "judge" / "frozen_runs.json")
    return package
