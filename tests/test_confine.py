"""The confinement of the student's code (Linux Landlock): writes only inside one folder, no signals out."""

import subprocess
import sys
import textwrap

import pytest

from lab2a.autograder.confine import abi_version

pytestmark = pytest.mark.skipif(abi_version() < 6, reason="needs Linux Landlock ABI 6 (kernel 6.12 or newer)")

PROBE = textwrap.dedent("""
    import os, signal, subprocess, sys
    from lab2a.autograder.confine import confine
    inside, outside, victim = sys.argv[1:4]
    print(confine(inside))

    def attempt(what, action):
        try:
            action()
            print(f"{what}: allowed")
        except PermissionError:
            print(f"{what}: refused")

    attempt("write inside", lambda: open(os.path.join(inside, "a.txt"), "w").write("x"))
    attempt("write outside", lambda: open(os.path.join(outside, "b.txt"), "w").write("x"))
    attempt("append outside", lambda: open(victim, "a").write("x"))
    attempt("delete outside", lambda: os.remove(victim))
    attempt("move out", lambda: os.rename(os.path.join(inside, "a.txt"), os.path.join(outside, "a.txt")))
    attempt("mkdir outside", lambda: os.mkdir(os.path.join(outside, "d")))
    attempt("write /dev/null", lambda: open(os.devnull, "w").write("x"))
    attempt("signal parent", lambda: os.kill(os.getppid(), signal.SIGKILL))
    child = subprocess.run(["sh", "-c", f"echo x > {outside}/c.txt"], capture_output=True)
    print("child writes outside:", "allowed" if child.returncode == 0 else "refused")
    """)


def test_the_confined_process_writes_only_inside_its_folder(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("the grader's file")
    result = subprocess.run([sys.executable, "-c", PROBE, inside, outside, victim], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("confined (Landlock ABI")
    said = dict(line.split(": ") for line in lines[1:])
    assert said == {"write inside": "allowed", "write outside": "refused", "append outside": "refused",
                    "delete outside": "refused", "move out": "refused", "mkdir outside": "refused",
                    "write /dev/null": "allowed", "signal parent": "refused",
                    "child writes outside": "refused"}, result.stdout
    assert victim.read_text() == "the grader's file"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert (inside / "a.txt").read_text() == "x"
