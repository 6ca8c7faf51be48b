"Resume after SIGKILL gives the same adapter as an uninterrupted run (bitwise on CPU)."
import json, os, signal, subprocess, sys, textwrap
from pathlib import Path
import pytest
from safetensors.torch import load_file

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from finetune_nb.config import RunConfig
    from finetune_nb.models import load_tokenizer
    from finetune_nb.data import tokenize_chat
    from finetune_nb.train import build_model, train
    run_dir, kill_at, precision = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    tok = load_tokenizer('tiny-random-llama')
    words = 'apple banana cherry grape lemon mango olive peach plum kiwi fig lime'.split()
    exs = [tokenize_chat(tok, [{'role': 'user', 'content': f'Spell {w}'}, {'role': 'assistant', 'content': ' '.join(w)}]) for w in words]
    cfg = RunConfig(model='tiny-random-llama', max_steps=8, batch_size=4, grad_accum=2, lr=1e-2, save_every=2, precision=precision)
    def on_step(step, rec):
        if step == kill_at: os.kill(os.getpid(), signal.SIGKILL)   # dies between checkpoints, mid-run
    train(cfg, build_model(cfg), tok, exs, exs[:4], run_dir, progress=False, on_step=on_step if kill_at else None)
""")

def run(tmp_path, run_dir, kill_at, precision):
    (tmp_path/'job.py').write_text(SCRIPT)
    return subprocess.run([sys.executable, str(tmp_path/'job.py'), str(run_dir), str(kill_at), precision], capture_output=True, text=True, timeout=300)

@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_resume_after_sigkill_is_bitwise_identical(tmp_path, precision):
    full = run(tmp_path, tmp_path/'full', 0, precision); assert full.returncode == 0, full.stderr[-2000:]
    killed = run(tmp_path, tmp_path/'resumed', 5, precision)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path/'resumed'/'checkpoint'/'state.pt').exists() and not (tmp_path/'resumed'/'adapter').exists()
    resumed = run(tmp_path, tmp_path/'resumed', 0, precision); assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert 'resuming from the checkpoint at step 4' in resumed.stdout
    a, b = load_file(tmp_path/'full'/'adapter'/'adapter_model.safetensors'), load_file(tmp_path/'resumed'/'adapter'/'adapter_model.safetensors')
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    log = [json.loads(l) for l in (tmp_path/'resumed'/'train_log.jsonl').read_text().splitlines()]
    full_log = [json.loads(l) for l in (tmp_path/'full'/'train_log.jsonl').read_text().splitlines()]
    assert [r['step'] for r in log] == [r['step'] for r in full_log] and [r['loss'] for r in log] == [r['loss'] for r in full_log]
