"""The sandbox on its own: what a confined process can and cannot do (files, network, processes, signals),
on this kernel and as older Landlock versions allow; the worker's plain-data channel; the fork server;
the limits on time, disk and tampering."""

import ast
import base64
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lab2a.autograder.grading.ipython_cells import IPYTHON_FLAGS
from lab2a.autograder.grading.limits import Limits
from lab2a.autograder.grading.session import CellRun, Session
from lab2a.autograder.sandbox import transport
from lab2a.autograder.sandbox.confine import abi_version, readable_rules

from .conftest import ROOT

LANDLOCK = abi_version() >= 1
needs_landlock = pytest.mark.skipif(not LANDLOCK, reason="needs Linux Landlock (5.13 or newer)")

PROBE = textwrap.dedent("""
    import json, os, socket, stat, subprocess, sys
    import torch
    from lab2a.autograder.sandbox.confine import confine
    inside, outside, victim, secret, abi = sys.argv[1:6]
    said = confine(inside, 4 << 30, protected=[os.path.dirname(secret)], abi=int(abi))

    def attempt(action):
        try:
            action()
            return "allowed"
        except OSError:
            return "refused"

    results = {
        "write inside": attempt(lambda: open(os.path.join(inside, "a.txt"), "w").write("x")),
        "read inside": attempt(lambda: open(os.path.join(inside, "a.txt")).read()),
        "write outside": attempt(lambda: open(os.path.join(outside, "b.txt"), "w").write("x")),
        "append outside": attempt(lambda: open(victim, "a").write("x")),
        "delete outside": attempt(lambda: os.remove(victim)),
        "move out": attempt(lambda: os.rename(os.path.join(inside, "a.txt"), os.path.join(outside, "a.txt"))),
        "mkdir outside": attempt(lambda: os.mkdir(os.path.join(outside, "d"))),
        "read outside": attempt(lambda: open(victim).read()),
        "read the grader's secret": attempt(lambda: open(secret).read()),
        "list outside": attempt(lambda: os.listdir(outside)),
        "read /proc": attempt(lambda: open("/proc/1/cmdline").read()),
        "read the runtime": attempt(lambda: open(torch.__file__).read(10)),
        "write /dev/null": attempt(lambda: open(os.devnull, "w").write("x")),
        "a device node inside": attempt(lambda: os.mknod(os.path.join(inside, "disk"), stat.S_IFBLK | 0o600,
                                                         os.stat("/").st_dev)),
        "socket": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
        "unix socket": attempt(lambda: socket.socket(socket.AF_UNIX)),
        "socketpair": attempt(lambda: socket.socketpair()),
        "start a process": attempt(lambda: subprocess.run([sys.executable, "-c", "1"])),
        "fork": attempt(lambda: os.fork() == 0 and os._exit(0)),
        "signal parent": attempt(lambda: os.kill(os.getppid(), 0)),
        "signal itself": attempt(lambda: os.kill(os.getpid(), 0)),
        "a thread": attempt(lambda: __import__("threading").Thread(target=lambda: None).start()),
        "torch": attempt(lambda: (torch.randn(64, 64) @ torch.randn(64, 64)).sum().item()),
    }
    print(json.dumps({"said": said.as_dict(), "results": results}))
    """)


def probe(tmp_path, abi: int = 0) -> tuple[dict, dict]:
    inside, outside, grader = tmp_path / "inside", tmp_path / "outside", tmp_path / "grader"
    for folder in (inside, outside, grader):
        folder.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("the grader's file")
    secret = grader / "answers.py"
    secret.write_text("ANSWER = 42")
    result = subprocess.run([sys.executable, "-c", PROBE, inside, outside, victim, secret, str(abi)],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "the grader's file"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    data = json.loads(result.stdout.splitlines()[-1])
    return data["said"], data["results"]


ALWAYS = {"write inside": "allowed", "read inside": "allowed", "write outside": "refused", "append outside": "refused",
          "delete outside": "refused", "mkdir outside": "refused", "read outside": "refused",
          "read the grader's secret": "refused", "list outside": "refused", "read /proc": "refused",
          "read the runtime": "allowed", "write /dev/null": "allowed", "a device node inside": "refused",
          "socket": "refused", "unix socket": "refused", "socketpair": "refused",
          "start a process": "refused", "fork": "refused", "signal parent": "refused", "signal itself": "allowed",
          "a thread": "allowed", "torch": "allowed"}


@needs_landlock
def test_a_confined_process_reads_the_runtime_and_writes_its_folder_only(tmp_path):
    said, results = probe(tmp_path)
    assert results == {**ALWAYS, "move out": "refused"}
    assert said["confined"] is True
    assert said["files"].startswith("reads only the Python runtime and its own folder")
    assert "socket() and socketpair() are refused" in said["network"] and "none can be started" in said["processes"]


@needs_landlock
@pytest.mark.parametrize("abi", [1, 2, 3, 4, 5, 6])
def test_older_landlock_versions_confine_alike(tmp_path, abi):
    """What a machine with an older kernel gets (GitHub's ubuntu runners have ABI 4): the same rules; moving
    a file out needs ABI 2 (before it, Landlock refuses every rename across folders, so it is refused too);
    TCP is also refused by Landlock from ABI 4 on."""
    said, results = probe(tmp_path, abi)
    assert results == {**ALWAYS, "move out": "refused"}
    assert f"Landlock ABI {abi}" in said["files"] and said["confined"] is True
    assert ("TCP refused (Landlock)" in said["network"]) == (abi >= 4)


def test_a_protected_folder_inside_a_readable_one_stays_closed(tmp_path):
    site = tmp_path / "site-packages"
    for name in ("numpy", "torch", "lab2a", "six.py"):
        (site / name).mkdir(parents=True) if not name.endswith(".py") else (site / name).write_text("")
    rules = readable_rules([site, tmp_path / "elsewhere"], [site / "lab2a"])
    assert sorted(rules) == sorted([site / "numpy", site / "six.py", site / "torch", tmp_path / "elsewhere"])


def test_not_linux_is_reported_as_not_confined(tmp_path):
    script = ("import platform; platform.system = lambda: 'Darwin'\n"
              "from lab2a.autograder.sandbox.confine import confine\n"
              f"print(confine({str(tmp_path)!r}, 4 << 30).as_dict())")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    said = eval(result.stdout)
    assert said["confined"] is False and said["files"] == "not confined: Darwin is not Linux"


# ---- the channel: plain data only ------------------------------------------------------------------------------

def test_arrays_keep_dtype_shape_and_values():
    values = {"a": np.arange(12, dtype=np.float32).reshape(3, 1, 4), "b": np.array([np.nan, -np.inf, 1e-300]),
              "c": np.zeros((0, 5), np.int64), "d": np.array([True, False]), "e": np.float32(2.5), "f": (1, "x", None)}
    copy = transport.decode(transport.encode(values))
    for key in "abcd":
        assert copy[key].dtype == values[key].dtype and copy[key].shape == values[key].shape
        assert np.array_equal(copy[key], values[key], equal_nan=True)
    assert copy["e"] == 2.5 and copy["f"] == [1, "x", None]


def _array_message(**spec) -> bytes:
    return json.dumps({"$ndarray": spec}).encode()


@pytest.mark.parametrize("message", [
    pickle.dumps({"cases": [1, 2]}),                                                       # a pickle
    b"\x80\x04\x95" + b"x" * 20,
    _array_message(dtype="object", shape=[1], data=base64.b64encode(b"12345678").decode()),   # object arrays
    _array_message(dtype="float32", shape=[3], data=base64.b64encode(b"1234").decode()),      # wrong byte count
    _array_message(dtype="float32", shape=[-1], data=""),
    _array_message(dtype="float32", shape=[1], data="not base64!"),
    _array_message(dtype="float32", shape=[1], data=base64.b64encode(b"1234").decode(), extra=1),
    json.dumps({"$ndarray": {"dtype": "float32", "shape": [0], "data": ""}, "other": 1}).encode(),
    b'{"a": 1, "a": 2}',                                                                    # a repeated key
    "{\"a\": \"\u00e9\"}".encode("utf-8"),                                                  # not ASCII
    b"[" * 100_000 + b"]" * 100_000,                                                        # nesting
    b'{"a": ' + b"1" * 5000 + b"}",                                                         # a huge int
    b" " * (transport.MAX_MESSAGE + 1),
    b"[" + b"{}," * transport.MAX_VALUES + b"{}]",                                          # millions of objects
    b"[" + b"0," * transport.MAX_VALUES + b"0]",                                            # ... or numbers
    b"[" * (transport.MAX_DEPTH + 1) + b"]" * (transport.MAX_DEPTH + 1),                    # deeper than allowed
])
def test_the_decoder_refuses_anything_else(message):
    with pytest.raises(transport.TransportError):
        transport.decode(message)


def test_a_message_within_the_bounds_is_read_and_one_past_them_is_not_sent():
    deep = []
    for _ in range(transport.MAX_DEPTH - 2):   # in an object: MAX_DEPTH levels
        deep = [deep]
    assert transport.decode(transport.encode({"deep": deep, "many": [0] * (transport.MAX_VALUES - 100)}))["deep"]
    with pytest.raises(ValueError, match="values in one message"):
        transport.encode([0] * transport.MAX_VALUES)


def test_the_encoder_sends_plain_data_only():
    class Sneaky:
        def __reduce__(self):
            return (print, ("pwned",))
    for value in (Sneaky(), {"x": np.array([object()])}, {1: "int key"}, {"$ndarray": 1}, {"f": print}):
        with pytest.raises(TypeError):
            transport.encode(value)


# ---- a session: cells, operations, limits -----------------------------------------------------------------------

def ask(session: Session, operation: str, **args) -> dict:
    with session.check() as asker:
        return asker(operation, **args)


def _cell(source: str, name: str = "cell 5") -> CellRun:
    """Every top-level statement of the source, run (the grader would run only its definitions)."""
    nodes = ast.parse(source).body
    return CellRun(f"your {name}", f"<cell {name}>", source, IPYTHON_FLAGS,
                   [{"index": i, "line": node.lineno} for i, node in enumerate(nodes)])


def test_a_session_runs_cells_then_operations_and_keeps_going_after_a_crash():
    with Session(Limits(timeout=10)) as session:
        ran = session.run_cell(_cell("import ctypes\n"
                                     "CRASH = ctypes.string_at(0)\n"  # a segmentation fault: skipped
                                     "from torch import nn\nclass ConvolutionalFilter(nn.Module):\n"
                                     "    def __init__(self, taps):\n        super().__init__()\n"
                                     "        self.taps = taps\n        self.filter = nn.Parameter(torch.zeros(taps))\n"
                                     "assert False, 'a failing assert'\n", "cell"))
        assert "SIGSEGV" in ran.skipped[1] and "AssertionError at line 9" in ran.failures[4]
        answer = ask(session, "filter_attributes", taps=[3])
        assert answer["data"]["modules"][0]["taps"] == {"present": True, "type": "int", "value": 3.0}
        assert session.workers == 2  # the crash cost one worker; the cell's other statements ran again


def test_a_step_over_its_time_is_stopped_and_the_next_one_runs():
    with Session(Limits(timeout=2)) as session:
        session.run_cell(_cell("import time\ndef slow(namespace=None):\n    while True:\n        time.sleep(0.1)"))
        started = time.monotonic()
        ran = session.run_cell(_cell("WAITED = slow()"))
        assert "timed out after 2 s" in ran.skipped[0] and time.monotonic() - started < 15
        answer = ask(session, "cuda_available")   # no ConvolutionalFilter: a plain problem, quickly
        assert "ConvolutionalFilter is not defined" in answer["problem"]


@needs_landlock
def test_writing_too_much_stops_the_worker():
    with Session(Limits(timeout=30, disk=20 << 20)) as session:
        ran = session.run_cell(_cell("BLOB = [open(f'blob{i}', 'wb').write(bytes(1 << 20)) for i in range(30)]"))
        assert "wrote more than 20 MiB" in ran.skipped[0]


@needs_landlock
def test_a_limit_passed_between_two_polls_is_blamed_on_the_step_that_passed_it():
    """21 MiB written in one quick statement, right after another cell (the folder was looked at a moment
    before): that statement is stopped, and the definition in the next cell runs (it once took the blame).
    (Within a cell, a statement of a few milliseconds may pass its blame to the next: see Worker._watch.)"""
    with Session(Limits(timeout=30, disk=20 << 20)) as session:
        session.run_cell(_cell("READY = 1"))
        ran = session.run_cell(_cell("BLOB = open('blob', 'wb').write(bytes(21 << 20))"))
        later = session.run_cell(_cell("def train():\n    return 3"))
        assert "wrote more than 20 MiB" in ran.skipped.get(0, ""), ran.skipped
        assert not later.skipped, later.skipped


def test_an_operation_on_a_changed_sandbox_is_not_answered():
    with Session(Limits(timeout=10)) as session:
        session.run_cell(_cell("import lab2a.autograder.sandbox.student as s\ns.summary = lambda *a, **k: {}"))
        answer = ask(session, "cuda_available")
        assert answer == {"id": answer["id"], "tampered": "lab2a.autograder.sandbox.student.summary"}


@pytest.mark.parametrize("replaced, named", [
    ("ops.perform", "lab2a.autograder.sandbox.ops.perform"),
    ("filter_ops._share_taps", "lab2a.autograder.sandbox.filter_ops._share_taps"),
    ("filter_ops.SimulatedDevice", "lab2a.autograder.sandbox.filter_ops.SimulatedDevice"),
    ("train_ops._device_run", "lab2a.autograder.sandbox.train_ops._device_run"),
    ("devices.Moves.__torch_function__", "Moves.__torch_function__"),
])
def test_every_module_of_the_operations_is_watched(replaced, named):
    """The operations live in ops.py and the modules it draws on (filter_ops, train_ops, devices): a name
    replaced in any of them from a cell is a change the next operation refuses to answer on, named; a module's
    name is one a hidden check's report may show (judge/unquoted.py)."""
    from lab2a.autograder.judge import unquoted

    module = replaced.split(".")[0]
    with Session(Limits(timeout=10)) as session:
        session.run_cell(_cell(f"import lab2a.autograder.sandbox.{module} as {module}\n"
                               f"{replaced} = lambda *a, **k: {{}}"))
        answer = ask(session, "cuda_available")
    assert answer == {"id": answer["id"], "tampered": named}
    if named.startswith("lab2a."):
        assert unquoted.vetted(answer, "")["tampered"] == named


LYING_DICT = """import gc
from lab2a.autograder.sandbox.worker import Channel
CHANNEL = next(o for o in gc.get_objects() if type(o) is Channel)
SHOWN = dict(vars(CHANNEL))


class Lying(dict):
    def get(self, name, default=None):
        return SHOWN.get(name, default)

    def __getitem__(self, name):
        return SHOWN[name]

    def keys(self):
        return SHOWN.keys()

    def __iter__(self):
        return iter(SHOWN)


CHANNEL.__dict__ = Lying({**SHOWN, "max_bytes": SHOWN["max_bytes"] * 2})
"""


def test_an_attribute_dictionary_that_lies_about_what_it_holds_is_a_change():
    """The worker's Channel given a dict subclass as __dict__ whose lookups show the old values while attribute
    access reads the new ones: the integrity check reads what attribute access reads."""
    with Session(Limits(timeout=10)) as session:
        ran = session.run_cell(_cell(LYING_DICT))
        assert not ran.failures and not ran.skipped, (ran.failures, ran.skipped)
        answer = ask(session, "cuda_available")
        assert "lies" in answer.get("tampered", ""), answer


def test_the_grader_reads_the_input_and_the_taps_back_from_memory_it_shares_with_the_worker():
    """forward scales x in place, then makes the worker's own reading agree (its `before`, reached through the
    stack): the grader's reading of the shared memory still sees the change. The taps, doubled at each call, are
    read there as each call left them."""
    from . import implementations as I

    forges = I.FORGES_AN_UNCHANGED_INPUT.replace("x.mul_(0.5)\n", "x.mul_(0.5)\n        self.filter.data.mul_(2)\n")
    h, x = np.arange(1, 4, dtype=np.float32), np.ones((2, 1, 8), np.float32)
    with Session(Limits(timeout=20)) as session:
        session.run_cell(_cell(forges))
        calls = ask(session, "filter_calls", taps=3, h=h, calls=[{"x": x}, {"x": x}])["data"]["calls"]
    assert [call["input_change"] for call in calls] == [0.5, 0.5]
    assert calls[0]["taps_after"].tolist() == [2, 4, 6] and calls[1]["taps_after"].tolist() == [4, 8, 12]


def test_memory_shared_with_the_grader_opens_no_folder_to_the_worker():
    """A mapped memfd is "/memfd:... (deleted)" in /proc/self/maps: its folder, "/", must not become readable."""
    from lab2a.autograder.sandbox import shared
    from lab2a.autograder.sandbox.confine import runtime_paths

    region = shared.Region(1 << 16)
    try:
        assert any("memfd:lab2a-shared" in line for line in open("/proc/self/maps"))
        assert Path("/") not in runtime_paths() and Path("/tmp") not in runtime_paths()
    finally:
        region.close()


def test_the_worker_holds_no_grader_module():
    """What the student's process has loaded of lab2a: the sandbox's modules and their packages, nothing else."""
    with Session(Limits(timeout=10)) as session:
        session.run_cell(_cell("import sys\nLOADED = sorted(m for m in sys.modules if m.startswith('lab2a'))\n"
                               "class ConvolutionalFilter:\n    pass\nConvolutionalFilter.LOADED = LOADED"))
        answer = ask(session, "filter_attributes", taps=[1])
    assert "must inherit from nn.Module" in answer["problem"]
    modules = _loaded_in_a_worker()
    packages = ("lab2a", "lab2a.autograder", "lab2a.autograder.sandbox")
    assert all(m in packages or m.startswith("lab2a.autograder.sandbox.") for m in modules), modules


def _loaded_in_a_worker() -> list[str]:
    script = textwrap.dedent("""
        import json, sys
        from lab2a.autograder.sandbox.worker import prepare
        prepare()
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("lab2a"))))
        """)
    result = subprocess.run([sys.executable, "-s", "-P", "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=ROOT.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_killed_fork_server_is_started_again():
    from lab2a.autograder.grading.fork_server import fork_server
    limits = Limits(timeout=10)
    with Session(limits) as session:
        ask(session, "cuda_available")
    server = fork_server(limits)
    server.process.kill()
    server.process.wait()
    with Session(limits) as session:
        assert "ConvolutionalFilter is not defined" in ask(session, "cuda_available")["problem"]
    assert fork_server(limits) is not server
    assert os.path.isdir(fork_server(limits).folder)



KILLED_GRADER = textwrap.dedent("""
    import sys, time
    from lab2a.autograder.grading.limits import Limits
    from lab2a.autograder.grading.session import CellRun, Session
    with Session(Limits(timeout=60)) as session:
        print("running", flush=True)
        source = "open('mine', 'w').write('x')\\nimport time\\ntime.sleep(60)\\n"
        session.run_cell(CellRun("cell", "<cell>", source, 0, [{"index": i, "line": i + 1} for i in range(3)]))
    """)


def test_a_grader_killed_outright_leaves_no_worker_and_no_folder(tmp_path):
    """SIGKILL gives the grader no chance to clean up: its fork server sees the control socket close, kills
    the workers and removes their folders and its own."""
    grader = subprocess.Popen([sys.executable, "-c", KILLED_GRADER], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "TMPDIR": str(tmp_path)}, cwd=ROOT.parent)
    try:
        assert grader.stdout.readline().strip() == "running"
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("lab2a-grade-*/mine")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(tmp_path.glob("lab2a-zygote-*")) and list(tmp_path.glob("lab2a-grade-*/mine"))
    finally:
        grader.kill()
        grader.wait()
    deadline = time.monotonic() + 15
    while list(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.iterdir()) == []


OTHERS = textwrap.dedent("""
    import ctypes, json, os, resource, sys, tempfile
    from lab2a.autograder.sandbox.confine import confine
    victim, mine = sys.argv[1], sys.argv[2]
    parent = os.getppid()
    said = confine(tempfile.mkdtemp(), 4 << 30)

    def attempt(action):
        try:
            action()
            return "allowed"
        except (OSError, ValueError):
            return "refused"

    results = {
        "limit another process": attempt(lambda: resource.prlimit(parent, resource.RLIMIT_NOFILE, (3, 3))),
        "limit itself": attempt(lambda: resource.prlimit(0, resource.RLIMIT_CORE, (0, 0))),
        "raise its memory limit": attempt(lambda: resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))),
        "renice another process": attempt(lambda: os.setpriority(os.PRIO_PROCESS, parent, 10)),
        "renice every process of its user": attempt(lambda: os.setpriority(os.PRIO_USER, 0, 10)),
        "renice itself": attempt(lambda: os.setpriority(os.PRIO_PROCESS, 0, 1)),
        "pin another process": attempt(lambda: os.sched_setaffinity(parent, {0})),
        "chmod outside": attempt(lambda: os.chmod(victim, 0o4777)),
        "chmod its own file": attempt(lambda: os.chmod(mine, 0o600)),
        "touch outside": attempt(lambda: os.utime(victim, (0, 0))),
        "xattr outside": attempt(lambda: os.setxattr(victim, "user.x", b"1")),
        "truncate outside": attempt(lambda: os.truncate(victim, 0)),
    }
    print(json.dumps(results))
    """)


@needs_landlock
def test_the_confined_process_changes_nothing_about_other_processes_or_files(tmp_path):
    victim = tmp_path / "gradebook.db"
    victim.write_text("grades")
    before = os.stat(victim)
    result = subprocess.run([sys.executable, "-c", OTHERS, victim, tmp_path / "x"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "limit another process": "refused", "limit itself": "allowed", "raise its memory limit": "refused",
        "renice another process": "refused", "renice every process of its user": "refused", "renice itself": "allowed",
        "pin another process": "refused", "chmod outside": "refused", "chmod its own file": "refused",
        "touch outside": "refused", "xattr outside": "refused", "truncate outside": "refused"}
    after = os.stat(victim)
    assert (after.st_mode, after.st_mtime_ns, victim.read_text()) == (before.st_mode, before.st_mtime_ns, "grades")


def test_a_submission_has_a_time_budget_in_all():
    """Each slow statement is stopped after its step's limit; once the budget is spent, the rest is not run."""
    with Session(Limits(timeout=1, total=3)) as session:
        started = time.monotonic()
        ran = [session.run_cell(_cell("import time\nWAIT = time.sleep(60)\n")) for _ in range(6)]
        assert time.monotonic() - started < 20
        assert "timed out after 1 s" in ran[0].skipped[1]
        assert "used up the 3 s of grading" in ran[-1].skipped[0]
        with pytest.raises(Exception, match="used up"):
            ask(session, "cuda_available")


def test_a_worker_that_stops_reading_cannot_block_the_grader():
    """A thread of the student's that holds Python's lock forever: the worker reads nothing more, and a
    request larger than a pipe's buffer must still end at its deadline (red team, round 2)."""
    from lab2a.autograder.grading.errors import StepFailed
    with Session(Limits(timeout=3)) as session:
        session.run_cell(_cell("import ctypes, threading, time\n"
                               "FREEZE = threading.Thread(target=lambda: (time.sleep(0.3), ctypes.PyDLL(None)"
                               ".sleep(600)), daemon=True).start()\n"))
        time.sleep(1)
        started = time.monotonic()
        with pytest.raises(StepFailed, match="timed out after 3 s"):
            ask(session, "filter_calls", taps=81, h=np.zeros(81, np.float32),
                calls=[{"x": np.zeros((64, 1, 32000), np.float32)}])
        assert time.monotonic() - started < 15


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="the grader drops privileges as root only")
def test_a_root_grader_runs_the_students_code_as_the_account_it_names(monkeypatch):
    from lab2a.autograder.grading.errors import GraderError
    from lab2a.autograder.grading.fork_server import sandbox_user
    monkeypatch.setenv("LAB2A_SANDBOX_USER", "no-such-account-lab2a")
    with pytest.raises(GraderError, match="no account here"):
        sandbox_user()
    monkeypatch.setenv("LAB2A_SANDBOX_USER", "root")
    with pytest.raises(GraderError, match="unprivileged"):
        sandbox_user()
    monkeypatch.setenv("LAB2A_SANDBOX_USER", "nobody")
    with Session(Limits(timeout=10)) as session:
        session.run_cell(_cell("import os\nMINE = open('mine', 'w').write(str(os.getuid()))"))
        answer = ask(session, "cuda_available")
        folder = session._live().folder
        assert (os.stat(os.path.join(folder, "mine")).st_uid, open(os.path.join(folder, "mine")).read()) == \
            (65534, "65534")
    assert "ConvolutionalFilter is not defined" in answer["problem"]


# ---- limits the kernel keeps: threads, files unlinked while open, what the grader reads ------------------------

THREADS_IN_A_CGROUP = textwrap.dedent("""
    import os, sys, threading, time
    from lab2a.autograder.sandbox.tasks import Pids
    pids = Pids.create()
    if pids is None:
        print("no cgroup")
        sys.exit(0)
    child = os.fork()
    if child == 0:
        entered, started = pids.enter(10), 0
        try:
            for _ in range(200):
                threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
                started += 1
        except RuntimeError:
            pass
        print(entered, started, flush=True)
        os._exit(0)
    os.waitpid(child, 0)
    pids.close()
    print("removed" if not os.path.exists(pids.folder) else "left behind")
    """)


def test_a_pids_cgroup_bounds_the_threads_of_a_process_root_or_not():
    result = subprocess.run([sys.executable, "-c", THREADS_IN_A_CGROUP], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    if result.stdout.strip() == "no cgroup":
        pytest.skip("no writable pids cgroup on this machine")
    assert result.stdout.split() == ["True", "9", "removed"]   # 10 tasks: the process and 9 threads


THREAD_FLOOD = ("import threading, time\nSTARTED = []\ndef _flood():\n    for i in range(1500):\n"
                "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
                "        STARTED.append(i)\n_flood()")


def test_a_thread_flood_is_stopped_and_the_report_says_what_bounds_threads():
    from lab2a.autograder.sandbox.tasks import Pids
    cgroup = Pids.create()
    if cgroup is not None:
        cgroup.close()
    with Session(Limits(timeout=20)) as session:
        ran = session.run_cell(_cell(THREAD_FLOOD))
        said = session.sandbox["processes"]
        flood = len(ran.statements) - 1   # the statement that calls _flood()
        if cgroup is not None:   # the kernel refuses the 65th task where it is started, and only there
            assert "RuntimeError" in ran.failures[flood] and not ran.skipped, (ran.failures, ran.skipped)
            answer = session.run_cell(_cell("import threading\nCOUNT = threading.active_count()"))
            assert not answer.failures and not answer.skipped   # the worker goes on, with its 64 tasks
        else:   # the grader's poll stops the worker and skips the statement
            assert "more than 64 threads" in ran.skipped[flood]
    if cgroup is not None:
        assert "at most 64 threads: the kernel refuses more (a pids cgroup)" in said
    elif os.geteuid() == 0:
        assert "threads NOT bounded by the kernel here" in said
    else:
        assert "RLIMIT_NPROC" in said


UNNAMED_FILES = {
    "unlinked while open": "import os\ndef _kept(i):\n    f = open(f'blob{i}', 'wb')\n    os.unlink(f'blob{i}')\n"
                           "    f.write(bytes(1 << 20))\n    f.flush()\n    return f\n"
                           "KEPT = [_kept(i) for i in range(30)]",
    "O_TMPFILE (tempfile.TemporaryFile)": "import tempfile\ndef _kept(i):\n    f = tempfile.TemporaryFile()\n"
                                          "    f.write(bytes(1 << 20))\n    f.flush()\n    return f\n"
                                          "KEPT = [_kept(i) for i in range(30)]",
    "mapped, then closed and unlinked": "import mmap, os\ndef _kept(i):\n    with open(f'blob{i}', 'w+b') as f:\n"
                                        "        f.write(bytes(1 << 20))\n        f.flush()\n"
                                        "        m = mmap.mmap(f.fileno(), 0)\n    os.unlink(f'blob{i}')\n"
                                        "    return m\nKEPT = [_kept(i) for i in range(30)]",
}


@pytest.mark.parametrize("how", list(UNNAMED_FILES))
def test_files_without_a_name_count_toward_the_disk_limit(how):
    """1 MiB files the folder no longer lists (unlinked, or made unnamed) still take disk: 30 of them pass 20 MiB."""
    with Session(Limits(timeout=30, disk=20 << 20)) as session:
        ran = session.run_cell(_cell(UNNAMED_FILES[how] + "\nimport time\nWAIT = time.sleep(1)"))
        # the statement that keeps the files (KEPT) is the one skipped, stopped by the disk limit
        kept = next(i for i, s in enumerate(ran.statements) if s["line"] == UNNAMED_FILES[how].count("\n") + 1)
        assert "wrote more than 20 MiB" in ran.skipped.get(kept, ""), (ran.skipped, ran.failures)
