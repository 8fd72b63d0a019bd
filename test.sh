#!/usr/bin/env bash
# One command: install (if needed), lint, and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./setup.sh
export PATH="$PWD/.venv/bin:$PATH"   # nbgrader and lab2a are found as installed here
ruff check .
exec python -m pytest -n 2 "$@"   # (which tests share a worker: tests/conftest.py)
