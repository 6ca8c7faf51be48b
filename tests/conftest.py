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


CHROMIUM_INSTALL = 'apt-get install -y chromium'
ARTIFACTS = ROOT/'test-artifacts'


def chromium_path():
    "The system chromium that playwright drives; no browser is a failure that names the install command, never a skip"
    import shutil
    for name in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"no chromium found for the browser tests: install it with `{CHROMIUM_INSTALL}` "
                "(tools/setup.sh does when apt is available)")


@pytest.fixture(scope='module')
def browser():
    "One headless chromium for a test module (playwright, the system browser through executable_path)"
    exe = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run `bash tools/setup.sh` (it is a dev requirement)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=['--no-sandbox', '--disable-dev-shm-usage'])
        yield b
        b.close()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
