"""One of the nbgrader processes of `lab2a autograde --jobs N` (parallel.py): nbgrader's own `autograde` app,
configured as `nbgrader autograde` configures it (the course's nbgrader_config.py, its gradebook a copy of its
own), that grades one student at a time, each taken from the queue the N processes share, until it is empty.

A process that takes the next student when it is free keeps every core busy however the students' times
differ (one notebook that runs into every time limit takes as long as forty honest ones); a share dealt out
in advance left one process with the slow ones and the other idle.

The queue is a file of student IDs and a counter beside it, taken under an exclusive lock (flock); each
student taken is written to this process's `claimed` file before it is graded, so the merge knows whose rows
this process's gradebook holds. Exit status 1 when nbgrader failed on a student (as a serial run), 0 otherwise.

    python -m lab2a.autograder.channels.nbgrader.pool_process ASSIGNMENT QUEUE CLAIMED [nbgrader options]
"""

import fcntl
import glob
import json
import sys
from pathlib import Path


def take(queue: Path) -> str | None:
    """The next student of the queue (queue: a JSON list; queue.next: how many were taken), or None."""
    with open(queue.with_suffix(".next"), "a+") as counter:
        fcntl.flock(counter, fcntl.LOCK_EX)   # released when the file closes
        counter.seek(0)
        taken = int(counter.read() or 0)
        students = json.loads(queue.read_text())
        if taken >= len(students):
            return None
        counter.seek(0)
        counter.truncate()
        counter.write(str(taken + 1))
        return students[taken]


def main(argv: list[str]) -> int:
    assignment, queue, claimed, options = argv[0], Path(argv[1]), Path(argv[2]), argv[3:]
    from lab2a.autograder.grading.fork_server import start_early
    start_early()  # the sandbox's fork server imports torch while nbgrader starts
    from nbgrader.apps.autogradeapp import AutogradeApp
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException

    app = AutogradeApp()
    app.initialize([assignment, *options])
    NbGrader.start(app)   # what AutogradeApp.start does before it grades (authenticator, exchange)
    app.coursedir.assignment_id = assignment
    failed = False
    while (student := take(queue)) is not None:
        with open(claimed, "a") as record:
            record.write(json.dumps(student) + "\n")
        app.coursedir.student_id = glob.escape(student)   # nbgrader reads the ID as a glob pattern
        try:
            Autograde(coursedir=app.coursedir, parent=app).start()
        except NbGraderException:
            failed = True   # nbgrader has logged why; the other students are still graded
    return 1 if failed else 0


def claimed_students(claimed: Path) -> list[str]:
    """The students a process took, in order ([] if it took none)."""
    if not claimed.exists():
        return []
    return [json.loads(line) for line in claimed.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    from lab2a.quick_exit import quick_exit

    quick_exit(main(sys.argv[1:]))
