"Resume after SIGKILL gives the same adapter as an uninterrupted run (bitwise on CPU)."
import json, os, signal, subprocess, sys, textwrap
from pathlib import Path
import pytest, torch
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


# In-process checks of the checkpoint and early-stopping contracts: the tiny model, a few steps each, fp32.
WORDS = 'apple banana cherry grape lemon mango olive peach plum kiwi fig lime'.split()


class Crash(Exception):
    "Stands for a process dying after a step's checkpoint was written"


@pytest.fixture(scope='module')
def spelling():
    "The tiny model's tokenizer and twelve tokenized spelling examples"
    from finetune_nb.models import load_tokenizer
    from finetune_nb.data import tokenize_chat
    tok = load_tokenizer('tiny-random-llama')
    msgs = [[{'role': 'user', 'content': f'Spell {w}'}, {'role': 'assistant', 'content': ' '.join(w)}] for w in WORDS]
    return tok, [tokenize_chat(tok, m) for m in msgs]


def train_tiny(spelling, run_dir, crash_at:int=0, **kw)->dict:
    "Train the tiny model into `run_dir`; with `crash_at`, raise `Crash` right after that step (and its checkpoint)"
    from finetune_nb.config import RunConfig
    from finetune_nb.train import build_model, train
    tok, exs = spelling
    cfg = RunConfig(**(dict(model='tiny-random-llama', batch_size=4, precision='fp32') | kw))
    def on_step(step, rec):
        if step == crash_at:
            raise Crash(step)
    return train(cfg, build_model(cfg), tok, exs[4:], exs[:4], run_dir, progress=False, on_step=on_step)


def adapter(run_dir)->dict:
    return load_file(Path(run_dir)/'adapter'/'adapter_model.safetensors')


def same_weights(a:dict, b:dict)->bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_reads_checkpoint_old_left_between_the_two_renames(spelling, tmp_path, capsys):
    "A crash after `checkpoint` became `.checkpoint.old` and before the new one took its name: resume uses the old one"
    from finetune_nb.train import checkpoint_path
    kw = dict(max_steps=6, save_every=2, lr=1e-2)
    train_tiny(spelling, tmp_path/'full', **kw)
    rd = tmp_path/'crashed'
    with pytest.raises(Crash):
        train_tiny(spelling, rd, crash_at=3, **kw)
    os.replace(rd/'checkpoint', rd/'.checkpoint.old')   # save_checkpoint's first rename done, its second not
    assert checkpoint_path(rd) == rd/'.checkpoint.old'/'state.pt'
    capsys.readouterr()
    s = train_tiny(spelling, rd, **kw)
    assert 'resuming from the checkpoint at step 2' in capsys.readouterr().out
    assert s['steps'] == 6
    assert same_weights(adapter(rd), adapter(tmp_path/'full'))
    assert not (rd/'.checkpoint.old').exists() and not (rd/'checkpoint').exists()


def test_early_stopping_survives_resume_with_its_patience_counter_and_best_weights(spelling, tmp_path, capsys):
    "lr 1e-7 changes the held-out loss by far less than early stopping's 1e-4: every eval after the first is a bad one"
    kw = dict(max_steps=10, save_every=1, eval_every=1, early_stopping_patience=3, lr=1e-7)
    full = train_tiny(spelling, tmp_path/'full', **kw)
    assert full['stopped_early'] and full['steps'] == 4 and full['best_step'] == 1
    last = train_tiny(spelling, tmp_path/'last', **(kw | dict(max_steps=4, early_stopping_patience=0)))
    assert not same_weights(adapter(tmp_path/'full'), adapter(tmp_path/'last')), "kept the last weights, not the best"
    rd = tmp_path/'resumed'
    with pytest.raises(Crash):
        train_tiny(spelling, rd, crash_at=2, **kw)   # after the eval of step 2: one bad eval so far
    saved = torch.load(rd/'checkpoint'/'state.pt', weights_only=False)
    assert saved['step'] == 2
    capsys.readouterr()
    s = train_tiny(spelling, rd, **kw)
    out = capsys.readouterr().out
    assert 'resuming from the checkpoint at step 2' in out
    assert s['stopped_early'] and s['steps'] == 4 and s['best_step'] == 1, s   # a counter reset to 0 would stop at 5
    assert 'early stopping at step 4' in out
    assert same_weights(adapter(rd), adapter(tmp_path/'full'))
