#!/usr/bin/env bash
# One command on a fresh machine: install, then run the main job on the default settings.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./setup.sh
export PATH="$PWD/.venv/bin:$PATH"
lab2a data
lab2a demo "$@"
