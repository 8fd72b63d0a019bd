"""`nbgrader autograde` for a class, `jobs` students at a time (nbgrader grades one after another).

nbgrader keeps its grades in one SQLite gradebook that one process writes at a time, so each of `jobs`
nbgrader processes (pool_process.py) writes into a copy of the gradebook of its own:

  1. copy gradebook.db once per process (the assignment, its cells, the students and any grades so far,
     manual scores included);
  2. start the processes; each takes the next student from one queue whenever it is free and grades that
     student as `nbgrader autograde --student` would, with its copy as the gradebook, writing
     autograded/<student>/ as a serial run does (each student is taken by one process only);
  3. merge: for each student a process took, that student's submission in gradebook.db (its notebooks,
     grades and comments) is replaced by the copy's, in one transaction.

Each student is graded as a serial run grades them (the same preprocessors, the same inputs drawn for each
student), so the gradebook, the autograded notebooks, the feedback and `nbgrader export` come out as a
serial run leaves them. A student nbgrader fails on is left ungraded as in a serial run, and a process that
dies takes no other process's grades with it: what it committed is merged.
Don't change the gradebook (formgrader) while it runs: the merge replaces the graded students' rows.
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from lab2a.autograder.channels.nbgrader import pool_process

GRADEBOOK = "gradebook.db"


class MergeFailed(RuntimeError):
    """The graded copies could not be written into the course's gradebook (they are kept beside it)."""


@dataclass
class ParallelRun:
    """What the parallel run did, shaped as subprocess.CompletedProcess is for the serial one."""
    returncode: int
    stderr: str
    workers: int


def default_jobs() -> int:
    """The machine's cores, at most 8: each nbgrader process and its sandbox load torch of their own."""
    return min(os.cpu_count() or 1, 8)


def ready(course: Path, assignment: str) -> bool:
    """The gradebook exists and knows the assignment (else one nbgrader process says what is wrong)."""
    try:
        connection = sqlite3.connect(f"file:{course / GRADEBOOK}?mode=ro", uri=True)
        try:
            return connection.execute("SELECT 1 FROM assignment WHERE name = ?", (assignment,)).fetchone() is not None
        finally:
            connection.close()
    except sqlite3.Error:
        return False


def autograde(course: Path, assignment: str, students: list[str], jobs: int, force: bool, environment: dict,
              say=print) -> ParallelRun:
    """Grade the students in `jobs` nbgrader processes and merge their gradebooks into the course's."""
    count = max(1, min(jobs, len(students)))
    gradebook = course / GRADEBOOK
    (course / "autograded").mkdir(exist_ok=True)   # made once here: each process would race to make it
    order = sorted(students, key=lambda student: f"{student}/{assignment}")   # as nbgrader globs them
    _add_students(gradebook, order)
    with tempfile.TemporaryDirectory(prefix="lab2a-autograde-") as scratch:
        queue = Path(scratch) / "queue.json"
        queue.write_text(json.dumps(order))
        copies = [Path(scratch) / f"gradebook-{i}.db" for i in range(count)]
        claimed = [Path(scratch) / f"claimed-{i}.jsonl" for i in range(count)]
        for copy in copies:
            _copy_database(gradebook, copy)
        processes = [_start(course, assignment, queue, record, copy, force, _share_of_cores(environment, count))
                     for copy, record in zip(copies, claimed)]
        logs = [[] for _ in processes]
        readers = [threading.Thread(target=_relay, args=(p, log, f"[{i + 1}/{len(processes)}] ", say))
                   for i, (p, log) in enumerate(zip(processes, logs))]
        for reader in readers:
            reader.start()
        for process, reader in zip(processes, readers):
            process.wait()
            reader.join()
        taken = [pool_process.claimed_students(record) for record in claimed]
        for i, (share, copy) in enumerate(zip(taken, copies)):
            try:
                merge(gradebook, copy, assignment, share)
            except sqlite3.Error as error:   # e.g. locked by formgrader for over a minute: keep what was graded
                kept = [course / f"gradebook.unmerged-{j + 1}.db" for j in range(i, len(copies))]
                for source, target in zip(copies[i:], kept):
                    _copy_database(source, target)
                raise MergeFailed(f"the grades of {sum(map(len, taken[i:]))} students could not be written into "
                                  f"{gradebook} ({error}); they are kept in {', '.join(k.name for k in kept)}: "
                                  f"close formgrader and run `lab2a autograde --force`") from error
    failed = next((p.returncode for p in processes if p.returncode), 0)   # a process killed: negative
    return ParallelRun(failed, "".join("".join(log) for log in logs), len(processes))


def _share_of_cores(environment: dict, processes: int) -> dict:
    """The environment of one of `processes` nbgrader processes: its libraries' thread pools sized to its share
    of the cores, so that the processes don't fight over them (the sandbox's workers use one thread each)."""
    threads = str(max(1, (os.cpu_count() or 1) // processes))
    return {**environment, **{name: threads for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                         "OPENBLAS_NUM_THREADS")}}


def _start(course, assignment, queue, claimed, copy, force, environment) -> subprocess.Popen:
    options = [f"--CourseDirectory.db_url=sqlite:///{copy}"] + (["--force"] if force else [])
    return subprocess.Popen([sys.executable, "-m", "lab2a.autograder.channels.nbgrader.pool_process", assignment,
                             str(queue), str(claimed), *options], cwd=course, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")


def _relay(process, log: list, prefix: str, say) -> None:
    """Each line of one nbgrader process, kept and shown with the process's number."""
    for line in process.stdout:
        log.append(line)
        say(prefix + line.rstrip("\n"))


def _copy_database(source: Path, destination: Path) -> None:
    """A consistent copy of an SQLite database (sqlite3's backup, not a file copy of a database in use)."""
    original, copy = sqlite3.connect(source), sqlite3.connect(destination)
    try:
        original.backup(copy)
    finally:
        original.close()
        copy.close()


def _add_students(gradebook: Path, students: list[str]) -> None:
    """The students the gradebook doesn't know yet, added in the order a serial run adds them (nbgrader
    grades submitted/<student>/<assignment> in sorted order): `nbgrader export` lists them in that order."""
    connection = sqlite3.connect(f"file:{gradebook}?mode=rw", uri=True)
    try:
        with connection:
            connection.executemany("INSERT OR IGNORE INTO student (id) VALUES (?)", [(s,) for s in students])
    finally:
        connection.close()


# nbgrader 0.9's tables that hold one student's submission of an assignment, and the column that ties
# each to the one before it: submitted_assignment -> submitted_notebook -> grade, comment.
_SUBMISSION = "SELECT id FROM {db}.submitted_assignment WHERE assignment_id = ? AND student_id = ?"
_NOTEBOOKS = "SELECT id FROM {db}.submitted_notebook WHERE assignment_id IN (" + _SUBMISSION + ")"
_ROWS = {   # table -> which of its rows belong to the submission
    "comment": "notebook_id IN (" + _NOTEBOOKS + ")",
    "grade": "notebook_id IN (" + _NOTEBOOKS + ")",
    "submitted_notebook": "assignment_id IN (" + _SUBMISSION + ")",
    "submitted_assignment": "id IN (" + _SUBMISSION + ")",
}


def merge(gradebook: Path, copy: Path, assignment: str, students: list[str]) -> None:
    """Each student's submission of the assignment in gradebook becomes the one in copy (a copy of gradebook
    that an nbgrader process graded those students into): students new to the course are added, the
    submission's rows are deleted, then the copy's inserted, all in one transaction."""
    connection = sqlite3.connect(gradebook, isolation_level=None, timeout=60)   # a TA's formgrader may hold it
    try:
        connection.execute("ATTACH DATABASE ? AS graded", (str(copy),))
        connection.execute("BEGIN IMMEDIATE")
        assignment_id = connection.execute("SELECT id FROM main.assignment WHERE name = ?", (assignment,)).fetchone()
        if assignment_id is None:
            raise LookupError(f"{gradebook} has no assignment {assignment!r}")
        connection.execute("INSERT OR IGNORE INTO main.student SELECT * FROM graded.student")
        for student in students:
            for table, rows in _ROWS.items():
                connection.execute(f"DELETE FROM main.{table} WHERE " + rows.format(db="main"),
                                   (assignment_id[0], student))
            for table, rows in reversed(_ROWS.items()):
                connection.execute(f"INSERT INTO main.{table} SELECT * FROM graded.{table} WHERE "
                                   + rows.format(db="graded"), (assignment_id[0], student))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()

