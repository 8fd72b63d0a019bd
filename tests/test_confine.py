"""The confinement of the student's code (Linux Landlock): writes only inside one folder, no signals out."""

import subprocess
import sys
import textwrap

import pytest

from lab2a.autograder.sandbox.confine import abi_version

pytestmark = pytest.mark.skipif(abi_version() < 6, reason="needs Linux Landlock ABI 6 (kernel 6.12 or newer)")

PROBE = textwrap.dedent("""
    import os, subprocess, sys
    from lab2a.autograder.sandbox.confine import confine
    inside, outside, victim, abi = sys.argv[1:5]
    print(confine(inside, int(abi)))

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
    attempt("signal parent", lambda: os.kill(os.getppid(), 0))  # 0: asks only whether it may signal
    child = subprocess.run(["sh", "-c", f"echo x > {outside}/c.txt"], capture_output=True)
    print("child writes outside:", "allowed" if child.returncode == 0 else "refused")
    """)


def _probe(tmp_path, abi):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("the grader's file")
    result = subprocess.run([sys.executable, "-c", PROBE, inside, outside, victim, str(abi)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert victim.read_text() == "the grader's file"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    return lines[0], dict(line.split(": ") for line in lines[1:])


WRITES = {"write inside": "allowed", "write outside": "refused", "append outside": "refused",
          "delete outside": "refused", "mkdir outside": "refused", "write /dev/null": "allowed",
          "child writes outside": "refused"}


def test_the_confined_process_writes_only_inside_its_folder(tmp_path):
    said, results = _probe(tmp_path, abi_version())
    assert said.startswith(f"confined (Landlock ABI {abi_version()})") and "signals" in said
    assert results == {**WRITES, "move out": "refused", "signal parent": "refused"}
    assert (tmp_path / "inside" / "a.txt").read_text() == "x"


@pytest.mark.parametrize("abi", [1, 2, 3, 4, 5])
def test_older_landlock_versions_still_confine_writes(tmp_path, abi):
    """What a machine with an older kernel gets (GitHub's ubuntu-latest runners have ABI 4): the same
    write rules; moving a file out needs ABI 2 (before it, Landlock forbids every cross-folder rename,
    so the move is refused too); no signal scoping before ABI 6."""
    said, results = _probe(tmp_path, abi)
    assert said.startswith(f"confined (Landlock ABI {abi})") and "signals" not in said
    assert {k: v for k, v in results.items() if k in WRITES} == WRITES
    assert results["move out"] == "refused" and results["signal parent"] == "allowed"
