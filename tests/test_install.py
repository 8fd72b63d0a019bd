"""Where setup.sh (the course repository's and the student kit's) takes torch from: lab2a/torch_index.py."""

import http.server
import socket
import subprocess
import sys
import threading
import time
import venv

import pytest
from lab2a.autograder.channels import kit

from lab2a import torch_index

from .conftest import ROOT

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
