"""Where setup.sh (the course repository's and the student kit's) takes torch from: lab2a/torch_index.py."""

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import venv
from pathlib import Path

import pytest
import yaml

from lab2a import torch_index
from lab2a.autograder.channels import github, kit

from .conftest import ROOT
from .test_channels import exports  # noqa: F401, F811  (the exports, written once per run by their commands)

SCRIPT = ROOT / "lab2a" / "torch_index.py"


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setattr(torch_index, "installed_torch", lambda: None)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")   # no nvidia-smi
    for name in ("LAB2A_TORCH", "LAB2A_TORCH_INDEX"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def index():
    """A package index on localhost that has torch."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/whl/cpu/torch/" else 404)
            self.end_headers()
            self.wfile.write(b"<a href='torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl'>torch</a>")

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_a_gpu_on_linux_torch_comes_from_the_cpu_index(no_torch, index, monkeypatch):
    monkeypatch.setenv("LAB2A_TORCH_INDEX", index)
    options, line = torch_index.choose(system="Linux")
    assert options == ["--extra-index-url", index]
    assert line == f"no NVIDIA GPU: torch's CPU build, from {index}"


def test_an_unreachable_cpu_index_falls_back_to_the_configured_one_at_once(no_torch, monkeypatch):
    monkeypatch.setenv("LAB2A_TORCH_INDEX", f"http://127.0.0.1:{closed_port()}/whl/cpu")
    start = time.monotonic()
    options, line = torch_index.choose(system="Linux")
    assert options == [] and "can't be reached" in line and "pip's configured index instead" in line
    assert time.monotonic() - start < 1


def test_an_index_that_never_answers_costs_the_probe_timeout_only(no_torch, monkeypatch):
    silent = socket.socket()   # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setenv("LAB2A_TORCH_INDEX", f"http://127.0.0.1:{silent.getsockname()[1]}/whl/cpu")
    monkeypatch.setattr(torch_index, "PROBE_TIMEOUT", 0.5)
    start = time.monotonic()
    options, line = torch_index.choose(system="Linux")
    silent.close()
    assert options == [] and "can't be reached" in line
    assert 0.4 < time.monotonic() - start < 2


def test_with_an_nvidia_gpu_or_on_macos_torch_comes_from_the_configured_index(no_torch, index, monkeypatch,
                                                                              tmp_path):
    monkeypatch.setenv("LAB2A_TORCH_INDEX", index)   # reachable, and not taken
    options, line = torch_index.choose(system="Darwin")
    assert options == [] and line.startswith("macOS: torch from pip's configured index")
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA GeForce RTX 4070 (UUID: GPU-1234)'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    options, line = torch_index.choose(system="Linux")
    assert options == [] and line.startswith("NVIDIA GPU found (GPU 0: NVIDIA GeForce RTX 4070")
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed: no driver' >&2\nexit 9\n")   # a tool, no GPU
    assert torch_index.choose(system="Linux")[0] == ["--extra-index-url", index]


def test_an_installed_torch_is_kept_and_the_choice_can_be_forced(monkeypatch):
    monkeypatch.delenv("LAB2A_TORCH", raising=False)
    options, line = torch_index.choose()
    assert options == [] and line.startswith("torch 2.") and "is installed already: kept" in line
    monkeypatch.setenv("LAB2A_TORCH", "cpu")
    assert torch_index.choose()[0] == ["--extra-index-url", torch_index.CPU_INDEX]
    monkeypatch.setenv("LAB2A_TORCH", "configured")
    assert torch_index.choose()[0] == []
    monkeypatch.setenv("LAB2A_TORCH", "cuda")
    with pytest.raises(SystemExit, match="use cpu or configured"):
        torch_index.choose()


def test_the_script_runs_before_anything_is_installed(tmp_path):
    """As setup.sh runs it: a new venv's Python, no torch; pip's options on stdout, one line on stderr."""
    venv.create(tmp_path / "venv", with_pip=False)
    env = {"PATH": "/usr/bin:/bin", "LAB2A_TORCH_INDEX": f"http://127.0.0.1:{closed_port()}/whl/cpu"}
    start = time.monotonic()
    result = subprocess.run([str(tmp_path / "venv" / "bin" / "python"), str(SCRIPT)], capture_output=True,
                            text=True, env=env, timeout=30)
    assert result.returncode == 0 and result.stdout == "\n"
    (line,) = result.stderr.splitlines()
    assert line.startswith("setup.sh: no NVIDIA GPU, but http://127.0.0.1:") and "configured index" in line
    assert time.monotonic() - start < 5
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                            env={"LAB2A_TORCH": "cpu"})
    assert result.stdout == f"--extra-index-url {torch_index.CPU_INDEX}\n"


def test_both_setup_scripts_install_with_that_choice():
    for text in ((ROOT / "setup.sh").read_text(), kit.SETUP):
        assert "torch_index=$(.venv/bin/python lab2a/torch_index.py)" in text
        assert "pip install --quiet --disable-pip-version-check $torch_index " in text
    assert kit.CPU_INDEX == torch_index.CPU_INDEX
    assert 3 <= torch_index.PROBE_TIMEOUT <= 5   # seconds: what a fallback costs at most
    assert "torch_index.py" in kit.COMMAND_FILES


# ---- every install path, run as its platform runs it, with PyTorch's CPU index out of reach --------------------

class SilentIndex:
    """A 'CPU index' that accepts connections and never answers (a firewall that drops, a dead mirror): it
    counts the connections, so a test sees whether pip, not only the probe, was sent there."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.connections = []
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/whl/cpu"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:   # closed
                return
            self.connections.append(connection)   # held open, never answered

    def close(self):
        self.server.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_index():
    index = SilentIndex()
    yield index
    index.close()


def offline_environment(tmp_path, silent_index, **extra) -> dict:
    """A machine that can't reach PyTorch's CPU index (LAB2A_TORCH_INDEX: the silent one) and has no NVIDIA GPU,
    whose pip's configured index is an empty one: pip fails at once instead of installing torch (a test that
    installed torch for real would take minutes). No pip configuration of this machine's; pip's own waiting
    cut short, so a path that handed pip the silent index would fail, not hang."""
    empty = tmp_path / "empty-index" / "simple"
    empty.mkdir(parents=True)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8",
           "LAB2A_TORCH_INDEX": silent_index.url, "PIP_CONFIG_FILE": os.devnull,
           "PIP_INDEX_URL": empty.as_uri(), "PIP_DEFAULT_TIMEOUT": "5", "PIP_RETRIES": "0", "PIP_NO_CACHE_DIR": "1"}
    env.update(extra)
    return env


def _course_setup(tmp_path, exported, env):
    """The course repository's setup.sh, in a copy of what it reads (the script itself, torch_index.py, the
    project's metadata)."""
    repo = tmp_path / "course"
    (repo / "lab2a").mkdir(parents=True)
    for name in ("setup.sh", "pyproject.toml", "README.md", "lab2a/torch_index.py"):
        shutil.copy(ROOT / name, repo / name)
    return subprocess.run(["bash", str(repo / "setup.sh")], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)


def _kit_setup(tmp_path, exported, env):
    kit_copy = tmp_path / "kit"
    shutil.copytree(exported / "github", kit_copy)
    return subprocess.run(["./setup.sh"], cwd=kit_copy, env=env, capture_output=True, text=True, timeout=300)


def _github_install_step(tmp_path, exported, env):
    """The workflow's install step, as Actions runs a `run:` (bash -e -o pipefail), with setup-python's Python
    (here a new venv: no torch) first on PATH."""
    repo = tmp_path / "repo"
    shutil.copytree(exported / "github", repo)
    venv.create(tmp_path / "python", with_pip=True)
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "lab2a.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["checks"]["steps"] if s.get("id") == "install"]
    env = {**env, "PATH": f"{tmp_path / 'python' / 'bin'}:{env['PATH']}"}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)


def _classroom50_autograder(tmp_path, exported, env):
    """autograder.py as Classroom 50's runner runs it, on a runtime's Python without the lab's requirements."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(ROOT / "release" / "lab2a" / "lab2a.ipynb", checkout / "lab2a.ipynb")
    env = {**env, "LAB2A_CACHE": str(tmp_path / "cache")}
    return subprocess.run(["/usr/bin/python3", str(exported / "classroom50" / "autograder.py")], cwd=checkout,
                          env=env, capture_output=True, text=True, timeout=300)


def _gradescope_setup(tmp_path, exported, env):
    """setup.sh as Gradescope runs it when it builds the image, in an /autograder of its own (AUTOGRADER_ROOT)."""
    root = tmp_path / "autograder"
    shutil.copytree(exported / "gradescope", root / "source")
    env = {**env, "AUTOGRADER_ROOT": str(root), "LAB2A_SANDBOX_USER": "nobody"}   # an account that exists
    return subprocess.run([str(root / "source" / "setup.sh")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


INSTALL_PATHS = {"course setup.sh": (_course_setup, "setup.sh"), "kit setup.sh": (_kit_setup, "setup.sh"),
                 "GitHub workflow": (_github_install_step, github.INSTALL_STEP),
                 "Classroom 50 autograder.py": (_classroom50_autograder, "autograder.py"),
                 "Gradescope setup.sh": (_gradescope_setup, "setup.sh")}


@pytest.mark.slow
@pytest.mark.parametrize("path", list(INSTALL_PATHS))
def test_every_install_path_falls_back_at_once_when_the_cpu_index_cannot_be_reached(
        exports, tmp_path, silent_index, path):  # noqa: F811
    """Each path runs its real script: torch_index.py's probe is the one connection the silent index gets (pip
    is never sent there, where it would wait minutes of retries), and pip goes on with its configured index (here
    empty: it finds nothing, at once, instead of installing torch)."""
    run, who = INSTALL_PATHS[path]
    result = run(tmp_path, exports, offline_environment(tmp_path, silent_index))
    said = [line for line in result.stderr.splitlines() if "can't be reached" in line]
    assert len(said) == 1, result.stdout + result.stderr
    assert said[0].startswith(f"{who}: no NVIDIA GPU, but {silent_index.url} can't be reached (")
    assert said[0].endswith("): torch from pip's configured index instead")
    assert len(silent_index.connections) == 1   # the probe's; pip never waited on it
    assert "Could not find a version that satisfies the requirement" in result.stderr, result.stderr
    assert result.returncode != 0   # (the empty index has nothing to install)


def _python(version: str) -> str | None:
    """An interpreter of that version on this machine: one of pyenv's (its shims on PATH only run the version
    pyenv has selected), else one on PATH."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    installed = sorted(root.glob(f"{version}.*/bin/python3")) if root.is_dir() else []
    if installed:
        return str(installed[-1])
    found = shutil.which(f"python{version}")
    return found if found and "/shims/" not in found else None


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_the_kits_requirements_resolve_on_the_newer_pythons_a_platform_may_run(exports, tmp_path, version):  # noqa: F811
    """The exports pin Python 3.11, where the requirements are installed and tested; a runner on a newer one
    (GitHub's runners default to 3.12, Classroom 50's job to 3.14 when unpinned) must still find a wheel of every
    requirement, the pinned torch included. pip's own resolver on that Python, a dry run: it reads the wheels'
    metadata, and torch's several GB are not downloaded."""
    python = _python(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    venv_dir = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv_dir)], check=True)
    report = tmp_path / "report.json"
    result = subprocess.run([str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet",
                             "--report", str(report), "-r", str(exports / "github" / "requirements.txt")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    chosen = {item["metadata"]["name"].lower(): item for item in json.loads(report.read_text())["install"]}
    wanted = [line.split("=")[0].split(">")[0].strip().lower() for line in
              (exports / "github" / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert set(wanted) <= set(chosen), sorted(set(wanted) - set(chosen))
    torch_wheel = chosen["torch"]["download_info"]["url"].rsplit("/", 1)[-1]
    assert chosen["torch"]["metadata"]["version"].split("+")[0] == kit.TORCH.split("==")[1]
    assert f"-cp{version.replace('.', '')}-" in torch_wheel, torch_wheel
