#!/usr/bin/env bash
# One-step setup: a virtual environment in .venv with CPU-only torch and directive-bot installed.
# torch is installed first, pinned to the CPU build; an unpinned torch would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
if .venv/bin/python -m pip list 2>/dev/null | grep -qi nvidia; then
  echo "setup: error: CUDA packages (nvidia-*) were installed; expected a CPU-only torch" >&2
  exit 1
fi
echo "setup: done. Activate with: . .venv/bin/activate"
