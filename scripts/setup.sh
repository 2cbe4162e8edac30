#!/usr/bin/env bash
# One-step setup: a virtual environment in .venv with CPU-only torch and directive-bot installed.
#
# torch is installed first, pinned to the CPU build: an unpinned torch (or one pulled in by
# sentence-transformers) would be a multi-GB CUDA build. On an ordinary machine the CPU build comes from
# PyTorch's CPU wheel index (TORCH_INDEX_URL to use another one); where that index cannot be reached, pip
# takes torch==2.13.0 from wherever it is configured to look. Either way the script fails if any nvidia
# package ends up installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0
TORCH_INDEX_URL=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

step() { echo "setup: [$1/4] $2 ($(date +%H:%M:%S))"; }

step 1 "virtual environment in .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
"${PIP[@]}" install --quiet --upgrade pip

step 2 "torch $TORCH_VERSION, CPU build (the largest download: about 200 MB)"
if .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  echo "setup:        already installed"
elif "${PIP[@]}" install --progress-bar on --timeout 20 --retries 1 \
       --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION"; then
  echo "setup:        from $TORCH_INDEX_URL"
else
  echo "setup:        $TORCH_INDEX_URL not reachable; using the package index pip is configured with"
  "${PIP[@]}" install --progress-bar on "torch==$TORCH_VERSION"
fi

step 3 "directive-bot and its dependencies (sentence-transformers, faiss-cpu, python-telegram-bot, ...)"
"${PIP[@]}" install --progress-bar on -e ".[test]" | grep -E "^(Collecting|Successfully installed)" || true
# grep ate pip's exit status: check that the install really happened
.venv/bin/python -c "import bot.cli, sentence_transformers, faiss, telegram" \
  || { echo "setup: error: installing directive-bot failed (run: .venv/bin/python -m pip install -e '.[test]')" >&2; exit 1; }

step 4 "checking that torch is the CPU build"
if "${PIP[@]}" list 2>/dev/null | grep -qi nvidia; then
  echo "setup: error: CUDA packages (nvidia-*) were installed; expected a CPU-only torch" >&2
  exit 1
fi
echo "setup: done. Activate with: . .venv/bin/activate"
