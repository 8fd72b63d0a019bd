import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_lab2a(*args, check=True, **kwargs) -> subprocess.CompletedProcess:
    """The real `lab2a` command, as a user runs it (a separate process, no terminal)."""
    result = subprocess.run([sys.executable, "-m", "lab2a.cli", *map(str, args)],
                            capture_output=True, text=True, cwd=kwargs.pop("cwd", ROOT), **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"lab2a {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result


# The longest pieces of work first (pytest-xdist hands tests out in this order): the catalogue's grading (one
# worker: ONE_WORKER below), then the student kit's full run and the course on JupyterHub (about
# 3 minutes each), so the other worker takes the rest meanwhile and neither waits alone at the end.
FIRST = ("tests/test_submissions.py", "tests/test_notebook.py::test_the_student_kit_alone",
         "tests/test_jupyterhub.py")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: next((i for i, start in enumerate(FIRST) if item.nodeid.startswith(start)),
                                     len(FIRST)))


# Test files whose tests all read one expensive module fixture: each runs on one pytest-xdist worker, in one
# piece, so the fixture is made once per run (test_submissions.py: the catalogue's grading, about 6 minutes).
ONE_WORKER = ("tests/test_submissions.py",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's load scheduling, with each ONE_WORKER file kept whole. (xdist's own `xdist_group` mark can't do
    it here: it rides on a suffix of the node id, which pytest 9.2's structured node ids drop without a word,
    pytest-xdist#1386, and then every worker made the catalogue's fixture itself.)"""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerPerFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return file if file in ONE_WORKER else nodeid

    return OneWorkerPerFile(config, log)


@pytest.fixture(scope="module")
def no_data(tmp_path_factory):
    """Grading needs no data set (the checks make their own inputs): for one test module, the lab's data
    file is one that does not exist, so a cell that loaded it while grading would fail the test."""
    monkey = pytest.MonkeyPatch()
    monkey.setenv("LAB2A_DATA", str(tmp_path_factory.mktemp("no-data") / "absent.pt"))
    yield
    monkey.undo()


@pytest.fixture(scope="session")
def small_course(tmp_path_factory) -> Path:
    """A 60-clip `course` dataset built by the CLI once per test session."""
    out = tmp_path_factory.mktemp("course") / "small.pt"
    run_lab2a("data", "--out", out, "--clips", 60, "--seed", 3)
    return out


@pytest.fixture(autouse=True)
def _no_user_data_path(monkeypatch):
    # A developer's own LAB2A_DATA must not leak into the tests.
    monkeypatch.delenv("LAB2A_DATA", raising=False)
