#!/usr/bin/env bash
# Create .venv (if missing) and install this project into it, with the test tools.
# Sourced by demo.sh and test.sh; safe to run again (pip skips what is installed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# torch is pinned in pyproject.toml (<=2.13.0): pip takes the CPU build, not a multi-GB CUDA one.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
