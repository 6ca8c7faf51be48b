"Every bench script's `--smoke` mode runs (the tiny model) and prints its RESULT line: a refactor can't rot one."
import os, subprocess, sys
import pytest
from conftest import ROOT

BENCHES = [
    ('data_prep.py', 'RESULT audit_100k_s='),
    ('estimate_check.py', 'RESULT max_abs_error='),
    ('export.py', 'RESULT merged_agreement='),
    ('generate.py', 'RESULT batched_speedup='),
    ('tracking.py', 'RESULT tracking_on_tok_s='),
    ('train_throughput.py', 'RESULT vs_trl='),
    ('gpu_check.sh', 'RESULT smoke lora_tok_s='),
    ('versions.py', 'RESULT short_tok_s_ratio='),
    ('monitor.py', 'RESULT log_ms='),
    ('knowledge_check.py', 'RESULT false_alarms='),
]
EXTRA_ARGS = {'versions.py': ['--old', 'HEAD']}   # the last commit against the working tree


def test_every_bench_script_is_listed():
    "A new bench script must get a smoke run here too"
    scripts = sorted(p.name for p in (ROOT/'bench').iterdir() if p.suffix in ('.py', '.sh'))
    assert scripts == sorted(b for b, _ in BENCHES)


@pytest.mark.parametrize('script,result', BENCHES, ids=[b for b, _ in BENCHES])
def test_bench_smoke(script, result, tmp_path):
    runner = ['bash'] if script.endswith('.sh') else [sys.executable]
    env = {**os.environ, 'FINETUNE_NB_RUNS': str(tmp_path/'runs'), 'TMPDIR': str(tmp_path)}
    cmd = [*runner, str(ROOT/'bench'/script), '--smoke', *EXTRA_ARGS.get(script, [])]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    last = [line for line in r.stdout.splitlines() if line.startswith('RESULT')]
    assert last and last[-1].startswith(result), r.stdout[-2000:]
