#!/usr/bin/env bash
# Create .venv (if missing) and install this project into it, with the test tools and JupyterHub.
# Sourced by demo.sh and test.sh; safe to run again (pip skips what is installed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Where torch comes from (lab2a/torch_index.py says which and why, in one line): without an NVIDIA GPU on
# Linux, PyTorch's CPU index (not PyPI's CUDA build of several GB), or pip's configured index when that
# one can't be reached within 4 s; on macOS or with an NVIDIA GPU, pip's configured index (PyPI).
torch_index=$(.venv/bin/python lab2a/torch_index.py)
# shellcheck disable=SC2086  # empty, or "--extra-index-url URL": two words
.venv/bin/python -m pip install --quiet --disable-pip-version-check $torch_index -e ".[test,hub]"
.venv/bin/python lab2a/torch_index.py --installed   # which build came (a mirror may serve the CPU one)
