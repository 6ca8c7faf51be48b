#!/usr/bin/env bash
# Build the docs site offline from nbs/ into _docs/ (open _docs/index.html): Sphinx + myst-nb, see nbs/14_docs.ipynb.
# The tutorial uses the newest finished demo run in runs/ (bash tools/demo.sh), else a tiny-model run it executes itself.
# Extra arguments go to `python -m finetune_nb.docs` (--run RUN_DIR, --no-exec, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
python -m finetune_nb.docs "$@"
