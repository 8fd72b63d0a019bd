"""Where an install takes PyTorch from: prints pip's index option (or nothing) on stdout, and one line saying
why on stderr. Standard library only: it runs before anything is installed, as
`python lab2a/torch_index.py [WHO]` (WHO starts the line: setup.sh by default).

Every install path uses it, so none waits on pip's minutes of retries when the CPU index can't be reached:
the course repository's setup.sh, the student kit's setup.sh and its GitHub workflow, Classroom 50's
autograder.py and Gradescope's setup.sh. After the install, `python lab2a/torch_index.py --installed [WHO]`
says which build was installed (CPU, CUDA): the configured index may be a mirror that serves the CPU build.

The rule:
- torch already installed in this Python: nothing to choose (pip keeps it);
- macOS: pip's configured index (PyPI's macOS wheels are the CPU/MPS build already);
- an NVIDIA GPU (`nvidia-smi -L` lists one): pip's configured index (PyPI's Linux wheels are the CUDA build);
- otherwise PyTorch's CPU index (about 200 MB instead of several GB), when it answers within a few seconds;
  if it doesn't, pip's configured index (PyPI, or the mirror pip.conf names), at once rather than after pip's
  minutes of retries.
LAB2A_TORCH=cpu|configured skips the rule; LAB2A_TORCH_INDEX names another CPU index (a mirror).
"""

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT = 4.0  # seconds: the whole cost of the fallback when the CPU index can't be reached


def nvidia_gpu() -> str | None:
    """The first GPU `nvidia-smi -L` lists, or None."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line for line in listed.stdout.splitlines() if line.startswith("GPU")]
    return lines[0] if listed.returncode == 0 and lines else None


def reachable(index: str, timeout: float | None = None) -> str | None:
    """None when the index answers for torch within timeout (PROBE_TIMEOUT), else why not."""
    try:
        # the headers only: the page is not read
        with urllib.request.urlopen(index.rstrip("/") + "/torch/", timeout=timeout or PROBE_TIMEOUT):
            return None
    except Exception as error:  # any failure means: take the configured index
        return str(getattr(error, "reason", None) or error)


def installed_torch() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def choose(environ=os.environ, system: str | None = None) -> tuple[list[str], str]:
    """(pip options, one line saying what and why)."""
    index = environ.get("LAB2A_TORCH_INDEX") or CPU_INDEX
    forced = environ.get("LAB2A_TORCH", "")
    configured = "torch from pip's configured index"
    if forced == "cpu":
        return ["--extra-index-url", index], f"torch: the CPU build from {index} (LAB2A_TORCH=cpu)"
    if forced == "configured":
        return [], f"{configured} (LAB2A_TORCH=configured)"
    if forced:
        raise SystemExit(f"LAB2A_TORCH={forced}: use cpu or configured")
    version = installed_torch()
    if version:
        return [], f"torch {version} is installed already: kept (delete the environment to choose again)"
    if (system or platform.system()) == "Darwin":
        return [], f"macOS: {configured} (PyPI's macOS build runs on the CPU and Apple's GPU)"
    gpu = nvidia_gpu()
    if gpu:
        return [], f"NVIDIA GPU found ({gpu}): {configured} (on PyPI, the CUDA build)"
    start = time.monotonic()
    why = reachable(index)
    if why is None:
        return ["--extra-index-url", index], f"no NVIDIA GPU: torch's CPU build, from {index}"
    # (which build that index serves is said after the install: a mirror may serve the CPU one)
    seconds = time.monotonic() - start
    return [], f"no NVIDIA GPU, but {index} can't be reached ({why}; {seconds:.1f} s): {configured} instead"


def installed_build() -> str:
    """Which torch this Python has, in one line: its version and build (CPU, or the CUDA version)."""
    try:
        import torch
    except ImportError as error:
        return f"torch is not installed ({error})"
    cuda = getattr(torch.version, "cuda", None)
    return f"torch {torch.__version__} installed: " + (f"the CUDA {cuda} build" if cuda else "the CPU build")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    installed = "--installed" in args
    who = next((a for a in args if a != "--installed"), "setup.sh")
    if installed:
        print(f"{who}: {installed_build()}", file=sys.stderr)
        return 0
    options, line = choose()
    print(" ".join(options))
    print(f"{who}: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
