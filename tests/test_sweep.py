"""Sweeps end to end through the CLI: a 2 x 2 grid with the data stage run once, killed mid-member and resumed, read
back from MLflow's own API; an Optuna search; bad specs refused before anything runs."""
import csv, json, os, signal, subprocess, time
from pathlib import Path
import pytest
from conftest import ROOT, BIN, cli, wait_for


def sweep_env(runs_dir):
    return {**os.environ, 'FINETUNE_NB_RUNS': str(runs_dir)}


def test_grid_sweep_killed_and_resumed_prepares_data_once_and_tracks_parent_and_children(runs_dir):
    args = ['sweep', 'configs/tiny.yaml', '--grid', 'lr=1e-3,1e-2', '--grid', 'lora_r=4,8', '-p', 'max_steps=40',
            '-p', 'save_every=5', '--name', 'grid']
    p = subprocess.Popen([str(BIN/'finetune-nb'), *args], cwd=ROOT, env=sweep_env(runs_dir), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_for(lambda: list(runs_dir.glob('*_grid-2/checkpoint/state.pt')), what="member 2's first checkpoint")
    p.send_signal(signal.SIGKILL)
    p.wait()
    sweep_dir, = runs_dir.glob('*_sweep_grid')
    member1, = runs_dir.glob('*_grid-1')
    first_train = (member1/'pipeline_train.ipynb').stat().st_mtime
    assert json.loads((member1/'metrics.json').read_text())['status'] == 'success'
    r = cli('sweep', '--resume', sweep_dir, env={'FINETUNE_NB_RUNS': str(runs_dir)})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert 'member 1 ' in r.stdout and 'finished, skipped' in r.stdout and 'member 2 ' in r.stdout
    assert (member1/'pipeline_train.ipynb').stat().st_mtime == first_train
    member2, = runs_dir.glob('*_grid-2')
    m2 = json.loads((member2/'metrics.json').read_text())
    assert m2['status'] == 'success' and 'resumed' in m2
    steps = [json.loads(line)['step'] for line in (member2/'train_log.jsonl').read_text().splitlines()]
    assert steps == list(range(1, 41))
    # the data stage ran once: one prepare notebook in the whole runs folder, the members share its split
    prepares = list(runs_dir.rglob('pipeline_prepare.ipynb'))
    assert prepares == [sweep_dir/'data'/'pipeline_prepare.ipynb'], prepares
    members = [Path(m['run_dir']) for m in json.loads((sweep_dir/'members.json').read_text())]
    assert len(members) == 4
    for rd in members:
        assert (rd/'data'/'train.jsonl').stat().st_ino == (sweep_dir/'split'/'train.jsonl').stat().st_ino
        assert json.loads((rd/'metrics.json').read_text())['train']['eval_loss_split'] == 'valid'
    rows = list(csv.DictReader(open(sweep_dir/'summary.csv')))
    assert [r['status'] for r in rows] == ['success']*4 and {r['lr'] for r in rows} == {'0.001', '0.01'}
    best = json.loads((sweep_dir/'best.json').read_text())
    assert best['chosen_on'] == 'validation_loss'
    assert best['best']['validation_loss'] == min(float(r['validation_loss']) for r in rows)
    summary = (sweep_dir/'summary.md').read_text()
    assert 'chosen on **validation loss**' in summary and 'separate from the held-out set' in summary
    assert {p.name for p in (sweep_dir/'plots').iterdir()} == {'validation_loss_vs_lr.png',
                                                               'validation_loss_vs_lora_r.png', 'loss_curves.png'}
    # MLflow, through its own API: a parent run, four children with their params and step metrics
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=f"sqlite:///{runs_dir.resolve()}/mlflow.db")
    exp = client.get_experiment_by_name('finetune_nb')
    runs = client.search_runs([exp.experiment_id])
    parent, = [r for r in runs if r.info.run_name == sweep_dir.name]
    children = [r for r in runs if r.data.tags.get('mlflow.parentRunId') == parent.info.run_id]
    assert sorted(r.info.run_name for r in children) == sorted(rd.name for rd in members)
    assert all(r.info.status == 'FINISHED' for r in children + [parent])
    assert parent.data.tags['best_run'] == best['best']['run']
    child = next(r for r in children if r.info.run_name == member2.name)
    assert child.data.params['lr'] in ('0.001', '0.01') and child.data.params['lora_r'] in ('4', '8')
    history = client.get_metric_history(child.info.run_id, 'loss')
    assert [h.step for h in history] == list(range(1, 41))
    assert 'finetuned.exact_match' in child.data.metrics and child.data.tags['status'] == 'success'


def test_optuna_search_runs_its_trials(runs_dir):
    r = cli('sweep', 'configs/tiny.yaml', '--trials', '2', '--search', 'lr=1e-4:1e-2:log', '--search', 'lora_r=4,8',
            '-p', 'max_steps=4', '--name', 'tpe')
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    sweep_dir, = runs_dir.glob('*_sweep_tpe')
    import optuna
    study = optuna.load_study(study_name='tpe', storage=f"sqlite:///{sweep_dir/'optuna.db'}")
    assert len(study.trials) == 2
    assert all(t.state.name in ('COMPLETE', 'PRUNED') for t in study.trials)
    for t in study.trials:
        assert 1e-4 <= t.params['lr'] <= 1e-2 and t.params['lora_r'] in (4, 8)
    rows = list(csv.DictReader(open(sweep_dir/'summary.csv')))
    assert len(rows) == 2
    member = Path(json.loads((sweep_dir/'members.json').read_text())[0]['run_dir'])
    assert json.loads((member/'metrics.json').read_text())['status'] == 'success'
    assert any('eval_loss' in json.loads(line) for line in (member/'train_log.jsonl').read_text().splitlines())


@pytest.mark.parametrize('args,msg', [
    (['--grid', 'lrr=1,2'], "unknown config key 'lrr' in the sweep grid (did you mean 'lr'?)"),
    (['--grid', 'lr='], '--grid lr: no values'),
    ([], 'give a grid (--grid key=a,b) or --trials N'),
    (['--grid', 'batch_size=4,big'], "member {'batch_size': 'big'}: batch_size: expected int, got str 'big'"),
    (['--trials', '3'], '--trials needs --search'),
    (['--resume', '/tmp'], '/tmp is not a sweep folder (no sweep.yaml)'),
])
def test_bad_sweeps_are_one_clear_error_before_anything_runs(runs_dir, args, msg):
    r = cli('sweep', 'configs/tiny.yaml', *args)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert r.stderr.count('finetune-nb:') == 1 and 'Traceback' not in r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
