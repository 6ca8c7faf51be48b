#!/usr/bin/env bash
# Set up, then every check CI runs: notebooks and package in sync (nbdev_export), notebooks clean (nbdev_clean),
# README generated from nbs/index.ipynb, nbdev's notebook processing, the notebook tests (nbdev_test) and pytest
# (with the browser tests: tests/test_browser.py and tests/test_docs_site.py, screenshots in test-artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
unset FINETUNE_NB_RUNS
# A git checkout is needed for the sync checks; CI always has one.
if git rev-parse --git-dir >/dev/null 2>&1; then
  echo "== nbdev_export: the package must match the notebooks"
  nbdev_export
  git add -N finetune_nb && git diff --exit-code --stat -- finetune_nb || { echo "finetune_nb/ is out of sync with nbs/: run nbdev_export and commit"; exit 1; }
  echo "== nbdev_clean: notebooks must be clean"
  nbdev_clean
  git diff --exit-code --stat -- nbs || { echo "notebooks are not clean: run nbdev_clean and commit"; exit 1; }
  echo "== ruff: lines of at most 120 characters, one statement a line (ruff.toml)"
  python tools/lint.py
  echo "== README.md must be generated from nbs/index.ipynb"
  python tools/readme.py --check
fi
echo "== nbdev_proc_nbs: nbdev can process every notebook (its processing only: no Quarto install, no pip install -e)"
python -m finetune_nb.docs --proc
echo "== nbdev_test"
nbdev_test --n_workers 2 --timing
echo "== pytest"
python -m pytest tests -q -p no:cacheprovider "$@"
