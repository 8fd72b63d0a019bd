"""`python -m lab2a.autograder.channels.nbgrader.command ARGS...`: nbgrader's own command line (`nbgrader
ARGS...`: its application, its configuration, its exit status), ended without the interpreter's teardown
(lab2a/quick_exit.py): `autograde` loads torch through the sandboxed grader, and the teardown would cost each
command most of a second after its work is done. `lab2a autograde` runs the TA's commands this way."""

import sys


def run(argv: list[str]) -> None:
    from lab2a.quick_exit import quick_exit

    if argv[:1] == ["autograde"]:  # the sandbox's fork server imports torch while nbgrader starts
        from lab2a.autograder.grading.fork_server import start_early
        start_early()
    from nbgrader.apps.nbgraderapp import main

    sys.argv = ["nbgrader", *argv]
    try:
        main()
        code = 0
    except SystemExit as end:
        code = end.code
    quick_exit(code)


if __name__ == "__main__":
    run(sys.argv[1:])
