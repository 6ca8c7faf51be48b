import os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    "Runs go to a temporary folder, never into the checkout's runs/"
    d = tmp_path/'runs'; monkeypatch.setenv('FINETUNE_NB_RUNS', str(d)); return d

def cli(*args, env=None, cwd=ROOT, timeout=600):
    "Run the finetune-nb console script of this environment"
    return subprocess.run([str(BIN/'finetune-nb'), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def wait_for(predicate, timeout=400, what='it'):
    "Poll `predicate` until it holds, failing after `timeout` seconds with `what` named"
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
