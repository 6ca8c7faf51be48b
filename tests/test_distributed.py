"Two CPU processes (DDP over gloo, accelerate in torchrun) train to the same adapter as one process at the same global batch."
import json, os, subprocess, sys, textwrap
from pathlib import Path
import torch
from safetensors.torch import load_file

SCRIPT = textwrap.dedent("""
    import sys
    from finetune_nb.config import RunConfig
    from finetune_nb.models import load_tokenizer
    from finetune_nb.data import tokenize_chat
    from finetune_nb.train import build_model, train
    run_dir, grad_accum = sys.argv[1], int(sys.argv[2])
    tok = load_tokenizer('tiny-random-llama')
    words = 'apple banana cherry grape lemon mango olive peach plum kiwi fig lime pear date'.split()
    exs = [tokenize_chat(tok, [{'role': 'user', 'content': f'Spell {w} please'}, {'role': 'assistant', 'content': ' '.join(w)}]) for w in words]
    cfg = RunConfig(model='tiny-random-llama', max_steps=4, batch_size=3, grad_accum=grad_accum, lr=1e-2, lora_dropout=0.0, precision='fp32', log_every=1)
    s = train(cfg, build_model(cfg), tok, exs, exs[:4], run_dir, progress=False)
""")

def test_two_processes_match_one(tmp_path):
    (tmp_path/'job.py').write_text(SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    one = subprocess.run([sys.executable, str(tmp_path/'job.py'), str(tmp_path/'one'), '2'], capture_output=True, text=True, timeout=300, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    # accelerate launch hands multi-CPU jobs to mpirun; torchrun (what `accelerate launch --multi_gpu` runs) starts the same
    # two processes, and Accelerator picks up the process group from its environment (gloo on CPU)
    launch = [str(Path(sys.executable).parent/'torchrun'), '--standalone', '--nproc_per_node', '2', str(tmp_path/'job.py'), str(tmp_path/'two'), '1']
    two = subprocess.run(launch, capture_output=True, text=True, timeout=300, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    assert 'x1x2 examples' in two.stdout and 'x2x1 examples' in one.stdout
    a, b = load_file(tmp_path/'one'/'adapter'/'adapter_model.safetensors'), load_file(tmp_path/'two'/'adapter'/'adapter_model.safetensors')
    assert a.keys() == b.keys()
    for k in a: torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6)
    la = [json.loads(l)['loss'] for l in (tmp_path/'one'/'train_log.jsonl').read_text().splitlines()]
    lb = [json.loads(l)['loss'] for l in (tmp_path/'two'/'train_log.jsonl').read_text().splitlines()]
    assert len(la) == len(lb) == 4 and all(abs(x - y) < 1e-4 for x, y in zip(la, lb)), (la, lb)
