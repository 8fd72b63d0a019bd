"""nbgrader, run for real, on a course folder laid out like this repository (nbgrader_config.py,
source/lab2a/): the TA's commands as subprocesses, and the grades read back from the gradebook.

Used by `lab2a demo` and by the tests of the TA workflow.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lab2a.autograder.channels.nbgrader import intake, parallel
from lab2a.autograder.grading.report import ASSIGNMENT, METADATA


def environment(scratch: Path) -> dict:
    """nbgrader's environment: this Python's bin/ first on PATH (nbgrader runs `alembic` from PATH),
    Jupyter's and IPython's settings in a scratch folder instead of the home directory."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR"):
        env.setdefault(name, str(scratch / name.lower()))
    env.pop("NBGRADER_EXECUTION", None)
    return env


def nbgrader(course: Path, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    """One nbgrader command, run from the course folder as a TA would (capture=False: its log on the terminal,
    line by line through this process's stderr, so `lab2a autograde` filters it as all it prints)."""
    command = [sys.executable, "-m", "lab2a.autograder.channels.nbgrader.command", *args]   # nbgrader's own
    if capture:
        result = subprocess.run(command, cwd=course, capture_output=True, text=True,
                                env=environment(course / ".scratch"))
    else:
        with subprocess.Popen(command, cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace", env=environment(course / ".scratch")) as process:
            tail = []
            for line in process.stdout:
                _to_stderr(line.rstrip("\n"))
                tail = (tail + [line])[-200:]
        result = subprocess.CompletedProcess(command, process.returncode, "", "".join(tail))
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return result


def new_course(repository: Path, course: Path, settings: str = "") -> Path:
    """A course folder with this repository's configuration and source notebook, and nothing else;
    settings: lines added to its nbgrader_config.py (e.g. "c.GradeInSandbox.timeout = 5")."""
    if course.exists():
        shutil.rmtree(course)
    course.mkdir(parents=True)
    config = (repository / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config + (f"\n{settings}\n" if settings else ""))
    shutil.copytree(repository / "source", course / "source")
    return course


def run_ta_workflow(repository: Path, course: Path, submit, say=lambda text: None,
                      settings: str = "", jobs: int = 1):
    """A TA's run from start to end in a new course: generate the release, let submit(course) put the
    notebooks in submitted/<student>/lab2a/, then autograde (`jobs` students at a time), feedback and
    export. Returns autograde's result."""
    new_course(repository, course, settings)
    say(f"  nbgrader generate_assignment {ASSIGNMENT}")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    submit(course)
    say(f"  lab2a autograde --jobs {jobs} (nbgrader autograde {ASSIGNMENT}, after making every submission "
        f"gradeable)")
    result, _, ungraded = autograde(course, jobs=jobs)
    if result.returncode != 0 or ungraded:
        raise RuntimeError(f"autograde left {ungraded or 'nobody'} ungraded (exit {result.returncode}):\n"
                           f"{result.stderr[-4000:]}")
    for step in (("generate_feedback", ASSIGNMENT), ("export",)):
        say(f"  nbgrader {' '.join(step)}")
        nbgrader(course, *step)
    return result


def autograde(course: Path, student: str | None = None, force: bool = False, capture: bool = True, jobs: int = 1):
    """`lab2a autograde`: make every submission (or one student's) gradeable with intake.prepare, then run
    `nbgrader autograde`, in `jobs` processes at a time (parallel.py) when there are several students.
    Returns (nbgrader's result, what intake did, the students nbgrader still left without a graded notebook)."""
    prepared = intake.prepare(course, ASSIGNMENT, student)
    students = [p.student for p in prepared]
    several = jobs > 1 and student is None and len(students) > 1
    if several and parallel.ready(course, ASSIGNMENT):
        result = parallel.autograde(course, ASSIGNMENT, students, jobs, force,
                                    environment(course / ".scratch"),
                                    say=(lambda line: None) if capture else _to_stderr)
        return result, prepared, _ungraded(course, prepared)
    options = ([f"--student={student}"] if student else []) + (["--force"] if force else [])
    result = nbgrader(course, "autograde", ASSIGNMENT, *options, check=False, capture=capture)
    return result, prepared, _ungraded(course, prepared)


def _to_stderr(line: str) -> None:
    """nbgrader's log, where a serial run leaves it: on stderr."""
    print(line, file=sys.stderr, flush=True)


def _ungraded(course: Path, prepared) -> list[str]:
    """The students nbgrader left without a graded notebook."""
    return [p.student for p in prepared
            if not (course / "autograded" / p.student / ASSIGNMENT / intake.NOTEBOOK).exists()]


def cell_scores(course: Path) -> dict[str, dict[str, float]]:
    """{student: {test cell grade_id: score}} from the course's gradebook: the automatic checks' cells."""
    return {student: {name: score for name, (score, _, kind) in grades.items() if kind == "code"}
            for student, grades in gradebook_grades(course).items()}


def gradebook_grades(course: Path) -> dict:
    """{student: {cell grade_id: (score, needs manual grading, "code" or "markdown")}} from the course's gradebook."""
    from nbgrader.api import Gradebook

    grades = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            notebook = submission.notebooks[0]
            grades[submission.student.id] = {grade.name: (grade.score, grade.needs_manual_grade, grade.cell.cell_type)
                                             for grade in notebook.grades}
    return grades


def unconfined(course: Path) -> dict | None:
    """What the sandbox enforced, from the first autograded notebook graded without full confinement
    (the grader writes it in the notebook's metadata); None when every one was confined."""
    import json

    for path in sorted((course / "autograded").glob(f"*/{ASSIGNMENT}/{intake.NOTEBOOK}")):
        try:
            sandbox = json.loads(path.read_text(encoding="utf-8"))["metadata"][METADATA]["sandbox"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(sandbox, dict) and not sandbox.get("confined"):
            return sandbox
    return None
