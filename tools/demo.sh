#!/usr/bin/env bash
# The main job: set up, then fine-tune SmolLM2-135M-Instruct on CMUdict ARPAbet and compare with the base model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/finetune-nb run configs/demo.yaml "$@"
