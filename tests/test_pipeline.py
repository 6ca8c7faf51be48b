"End to end: `finetune-nb run` executes the pipeline notebooks with papermill; the run folder is a contract."
import json, os, subprocess, sys
from pathlib import Path
import nbformat, pytest, yaml
from conftest import ROOT, BIN, cli

LAYOUT = sorted("""adapter/README.md adapter/adapter_config.json adapter/adapter_model.safetensors config.yaml data/eval.jsonl
data/train.jsonl data_report.json eval_samples.jsonl metrics.json pipeline_evaluate.ipynb pipeline_prepare.ipynb
pipeline_train.ipynb plots/comparison.png plots/data.png plots/loss.png rejected.jsonl report.md tracking.json
train_log.jsonl""".split())

def only_run(runs_dir):
    runs = [p for p in runs_dir.iterdir() if (p/'config.yaml').exists()]   # beside them: mlflow.db, mlartifacts/
    assert len(runs) == 1, runs
    return runs[0]

def files(d): return sorted(str(p.relative_to(d)) for p in d.rglob('*') if p.is_file())

def test_tiny_run_end_to_end(runs_dir):
    r = cli('run', 'configs/tiny.yaml', '-p', 'decision={domain_knowledge: yes, retrievable: yes}')
    assert r.returncode == 0, r.stderr[-3000:]
    rd = only_run(runs_dir)
    assert rd.name.endswith('_tiny')
    assert files(rd) == LAYOUT
    m = json.loads((rd/'metrics.json').read_text())
    assert m['status'] == 'success'
    assert {'status', 'name', 'run_dir', 'started', 'finished', 'environment', 'data', 'train', 'eval', 'timings'} <= set(m)
    assert set(m['timings']) == {'prepare_s', 'train_s', 'evaluate_s', 'total_s'}
    assert {'steps', 'loss_first', 'loss_last', 'loss_min', 'tokens_per_s', 'peak_memory_mb', 'eval_loss', 'trainable_params'} <= set(m['train'])
    assert m['train']['steps'] == 2 and m['train']['tokens_per_s'] > 0 and m['train']['peak_memory_mb'] > 0
    assert m['train']['estimate_peak_mb'] > 0 and m['train']['estimate_time_s'] >= 0   # predicted next to measured
    assert set(m['eval']['summary']) == {'base_zero_shot', 'base_few_shot', 'finetuned'}
    for s in m['eval']['summary'].values(): assert {'exact_match', 'contains', 'token_f1', 'loss', 'n'} <= set(s) and s['n'] == 8
    assert m['eval']['verdict']['sentence'] and 'worth_it' in m['eval']['verdict']
    assert m['environment']['packages']['torch'] and 'git_sha' in m['environment']
    assert m['data']['n_train'] + m['data']['n_eval'] == 60 and len(m['data']['data_hash']) == 64
    cfg = yaml.safe_load((rd/'config.yaml').read_text())
    assert cfg['model'] == 'tiny-random-llama' and cfg['max_steps'] == 2 and cfg['lora_r'] == 16
    log = [json.loads(l) for l in (rd/'train_log.jsonl').read_text().splitlines()]
    assert [r['step'] for r in log] == [1, 2] and set(log[0]) >= {'loss', 'lr', 'grad_norm', 'tokens_per_s', 'memory_mb'}
    for nb in ('pipeline_prepare', 'pipeline_train', 'pipeline_evaluate'):  # executed copies keep their outputs
        cells = nbformat.read(rd/f'{nb}.ipynb', as_version=4).cells
        assert any(c.get('outputs') for c in cells if c.cell_type == 'code'), nb
    assert 'status: success' in r.stdout and 'finetuned' in r.stdout
    # cost, speed, forgetting, the decision and the checklist
    ev = m['eval']
    for s in ev['speed'].values():
        assert s['n'] == 8 and s['prompt_tokens'] > 0 and s['latency_n'] == 2 and s['throughput_rps'] > 0
    assert ev['speed']['base_few_shot']['prompt_tokens'] > ev['speed']['finetuned']['prompt_tokens']
    assert ev['cost']['baseline'] == 'base_few_shot' and ev['cost']['train_source'] == 'measured'
    assert ev['forgetting']['n'] == 8 and ev['forgetting']['format'] == 'vocabulary'
    assert ev['decision_conflict'].startswith('This run fine-tunes, but its recorded decision recommends RAG')
    assert cfg['decision'] == {'domain_knowledge': True, 'retrievable': True}
    assert [i['state'] for i in m['checklist']][:1] == ['warn'] and len(m['checklist']) == 9
    report = (rd/'report.md').read_text()
    for text in ('> **Decision:** This run fine-tunes', '**Fine-tuned zero-shot uses', '### Forgetting',
                 '### Playbook checklist', '| 1 | Decision recorded'):
        assert text in report, text

def test_failing_run_records_failure(runs_dir, tmp_path):
    data = tmp_path/'chat.jsonl'
    good = [json.dumps({'messages': [{'role': 'user', 'content': f'q{i}'}, {'role': 'assistant', 'content': 'a'}]}) for i in range(20)]
    data.write_text('\n'.join(good[:10] + ['{"messages": [oops'] + good[10:]) + '\n')
    r = cli('run', 'configs/tiny.yaml', '-p', f'data_path={data}', '-p', 'max_reject_frac=0')
    assert r.returncode == 1
    rd = only_run(runs_dir)
    m = json.loads((rd/'metrics.json').read_text())
    assert m['status'] == 'failed' and m['error']['stage'] == 'prepare' and m['error']['ename'] == 'DataError'
    assert f'{data}:11: invalid JSON' in m['error']['evalue']
    nb = nbformat.read(rd/'pipeline_prepare.ipynb', as_version=4)
    tbs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert tbs and tbs[0]['ename'] == 'DataError' and tbs[0]['traceback']
    assert not (rd/'pipeline_train.ipynb').exists()
    rej = [json.loads(l) for l in (rd/'rejected.jsonl').read_text().splitlines()]
    assert [(x['line'], x['reason'][:12]) for x in rej] == [(11, 'invalid JSON')]
    assert 'status: failed' in r.stderr and 'pipeline_prepare.ipynb' in r.stderr

@pytest.mark.parametrize('args,msg', [
    (['-p', 'lrr=1e-3'], "unknown config key 'lrr' in overrides (did you mean 'lr'?)"),
    (['-p', 'batch_size=big'], "batch_size: expected int, got str 'big'"),
    (['-p', 'data_path=no/such/file.jsonl'], 'data_path: file not found: no/such/file.jsonl'),
    (['-p', 'quantize=nf3', '-p', 'lr=-1'], "lr: must be > 0"),
])
def test_bad_input_one_clear_message(runs_dir, args, msg):
    r = cli('run', 'configs/tiny.yaml', *args)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert r.stderr.count('finetune-nb:') == 1 and 'Traceback' not in r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())

def test_bad_yaml_key_names_file(tmp_path, runs_dir):
    p = tmp_path/'x.yaml'; p.write_text('epohcs: 2\n')
    r = cli('run', p)
    assert r.returncode == 2 and f"unknown config key 'epohcs' in {p} (did you mean 'epochs'?)" in r.stderr

def papermill(*args, cwd=ROOT):
    return subprocess.run([str(BIN/'papermill'), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)

def test_papermill_directly_rejects_unknown_parameter(tmp_path, runs_dir):
    out = tmp_path/'out.ipynb'
    r = papermill('nbs/pipeline_prepare.ipynb', out, '-p', 'config_file', 'configs/tiny.yaml', '-p', 'lrr', '0.1')
    assert r.returncode != 0 and "unknown config key 'lrr'" in r.stderr + out.read_text()

def test_papermill_directly_runs_prepare_with_overrides(tmp_path, runs_dir):
    out = tmp_path/'out.ipynb'
    r = papermill('nbs/pipeline_prepare.ipynb', out, '-p', 'config_file', 'configs/tiny.yaml', '-p', 'max_examples', 40, '-p', 'name', 'direct')
    assert r.returncode == 0, r.stderr[-2000:]
    rd = only_run(runs_dir); assert rd.name.endswith('_direct')
    assert yaml.safe_load((rd/'config.yaml').read_text())['max_examples'] == 40
    rep = json.loads((rd/'data_report.json').read_text())
    assert rep['n_train'] + rep['n_eval'] == 40 and rep['n_rows'] > 100_000   # sampled from the whole builtin source

def test_help_notebook_documents_parameters():
    r = papermill('--help-notebook', 'nbs/pipeline_prepare.ipynb')
    assert r.returncode == 0
    for p in ('config_file', 'run_dir', 'max_steps', 'lr'): assert p in r.stdout
    assert 'peak learning rate' in r.stdout

def test_labelled_task_with_categories(runs_dir, tmp_path):
    "A labelled task gets parsed accuracy, per-class reports, confusion matrices and per-category results"
    import random
    rng = random.Random(0); rows = []
    for i in range(80):
        lab = rng.choice(['positive', 'negative', 'neutral'])
        rows.append(json.dumps({'messages': [{'role': 'user', 'content': f'Review {i}: the {lab} words here'}, {'role': 'assistant', 'content': lab}],
                                'category': rng.choice(['books', 'films'])}))
    data = tmp_path/'sentiment.jsonl'; data.write_text('\n'.join(rows) + '\n')
    r = cli('run', 'configs/tiny.yaml', '-p', f'data_path={data}', '-p', 'max_examples=0', '-p', 'eval_samples=12', '-p', 'name=labelled')
    assert r.returncode == 0, r.stderr[-3000:]
    rd = only_run(runs_dir); m = json.loads((rd/'metrics.json').read_text())['eval']
    assert m['task'] == 'labelled' and m['labels'] == ['negative', 'neutral', 'positive']
    assert m['primary'] == ('macro_f1' if m['imbalance']['imbalanced'] else 'accuracy')
    assert m['metrics'][:4] == ['macro_f1', 'accuracy', 'exact_match', 'no_label']
    assert {'prior_majority', 'prior_shares'} <= set(m['summary']) and 'macro_f1' in m['comparisons']['prior_majority']
    assert 'priors_beaten' in m['verdict'] and m['verdict']['best_baseline'].startswith('base_')
    assert 'Answer with exactly one of: negative, neutral, positive.' in m['system_prompt']
    for rep in m['classification'].values():
        assert len(rep['confusion']) == 3 and sum(map(sum, rep['confusion'])) == 12 and set(rep['per_class']) == set(m['labels'])
    assert set(m['by_category']) == {'books', 'films'} and sum(v['n'] for v in m['by_category'].values()) == 12
    rep = (rd/'report.md').read_text()
    assert 'Confusion matrices' in rep and 'accuracy by category' in rep and '### Recall per class' in rep
    assert 'prior: most frequent label' in rep and (rd/'plots'/'confusion.png').exists()
    # a second run compares itself with the first one's adapter, on its own held-out set
    r = cli('run', 'configs/tiny.yaml', '-p', f'data_path={data}', '-p', 'max_examples=0', '-p', 'eval_samples=12', '-p', 'name=again',
            '-p', f'compare_runs=[{rd}]', '-p', 'do_sample=true', '-p', 'temperature=0.7')
    assert r.returncode == 0, r.stderr[-3000:]
    rd2 = next(p for p in runs_dir.iterdir() if p.name.endswith('_again'))
    m2 = json.loads((rd2/'metrics.json').read_text())['eval']
    assert f'run:{rd.name}' in m2['summary'] and f'run:{rd.name}' in m2['comparisons']
    assert m2['verdict']['best_baseline'].startswith('base_')

def test_resume_command_continues_a_killed_run(runs_dir, tmp_path):
    "Kill `finetune-nb run` (SIGKILL to its process group) after a checkpoint; `finetune-nb resume` finishes the same run"
    import signal, time
    p = subprocess.Popen([str(BIN/'finetune-nb'), 'run', 'configs/tiny.yaml', '-p', 'max_steps=300', '-p', 'save_every=10', '-p', 'name=killed'],
                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list(runs_dir.glob('*/checkpoint/state.pt')): time.sleep(0.2)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    rd = only_run(runs_dir)
    assert (rd/'checkpoint'/'state.pt').exists() and not (rd/'adapter').exists()
    assert json.loads((rd/'metrics.json').read_text())['status'] == 'running'   # killed: no finally ran
    r = cli('resume', rd)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((rd/'metrics.json').read_text())
    assert m['status'] == 'success' and 'resumed' in m and m['train']['steps'] == 300 and not (rd/'checkpoint').exists()
    assert 'resuming from the checkpoint at step' in (rd/'pipeline_train.ipynb').read_text()
    assert files(rd) == LAYOUT
    assert cli('resume', rd).returncode == 2 and cli('resume', tmp_path).returncode == 2
