"""Registering and comparing runs through the CLI, read back through MLflow; a registered model generates exactly what
its run's adapter generates."""
import json
from pathlib import Path
import pytest
from conftest import cli


@pytest.fixture(scope='module')
def two_runs(tmp_path_factory):
    "Two finished tiny runs on the same held-out examples, differing in lr"
    runs_dir = tmp_path_factory.mktemp('registry')/'runs'
    env = {'FINETUNE_NB_RUNS': str(runs_dir)}
    for name, lr in (('a', '2e-4'), ('b', '1e-2')):
        r = cli('run', 'configs/tiny.yaml', '-p', f'name={name}', '-p', f'lr={lr}', '-p', 'max_steps=6', env=env)
        assert r.returncode == 0, r.stderr[-2000:]
    a, = runs_dir.glob('*_a')
    b, = runs_dir.glob('*_b')
    return runs_dir, a, b


def test_register_refuses_prefer_prompting_then_loads_back_what_the_run_generates(two_runs):
    runs_dir, a, _ = two_runs
    env = {'FINETUNE_NB_RUNS': str(runs_dir)}
    verdict = json.loads((a/'metrics.json').read_text())['eval']['verdict']
    assert not verdict['worth_it']   # the tiny random model never beats prompting
    r = cli('register', a, '--name', 'tiny', env=env)
    assert r.returncode == 2 and 'verdict was to prefer prompting' in r.stderr and '--force' in r.stderr, r.stderr
    r = cli('register', a, '--name', 'tiny', '--alias', 'champion', '--force', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'registered tiny version 1 as @champion' in r.stdout
    r = cli('models', '--runs-dir', runs_dir)
    assert 'tiny' in r.stdout and 'champion' in r.stdout and a.name in r.stdout
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=f"sqlite:///{runs_dir.resolve()}/mlflow.db")
    v = client.get_model_version_by_alias('tiny', 'champion')
    assert v.tags['run_dir'] == str(a.resolve()) and v.tags['base_model'] == 'tiny-random-llama'
    assert len(v.tags['data_hash']) == 64 and 'prefer prompting' in v.tags['verdict']
    assert 'lr: 0.0002' in v.tags['config']
    import finetune_nb
    from finetune_nb.config import load_config
    from finetune_nb.models import load_tokenizer
    from finetune_nb.evaluate import _load_trained, generate
    cfg = load_config(a/'config.yaml')
    tok = load_tokenizer(cfg.model)
    prompts = [json.loads(line)['prompt'] for line in (a/'eval_samples.jsonl').read_text().splitlines()]
    expected = generate(_load_trained(cfg, a).eval(), tok, prompts, max_new_tokens=8)
    for ref in ('tiny@champion', 'tiny/1', 'tiny'):
        model, tok2 = finetune_nb.load_registered(ref, runs_root=runs_dir)
        assert generate(model, tok2, prompts, max_new_tokens=8) == expected, ref


def test_bad_registrations_are_one_clear_error(two_runs, tmp_path):
    runs_dir, _, _ = two_runs
    r = cli('register', tmp_path, '--name', 'x', env={'FINETUNE_NB_RUNS': str(runs_dir)})
    assert r.returncode == 2 and 'is not a run folder' in r.stderr
    import finetune_nb
    from finetune_nb.registry import RegistryError
    with pytest.raises(RegistryError, match="no registered model version 'nope@champion'"):
        finetune_nb.load_registered('nope@champion', runs_root=runs_dir)


def test_compare_pairs_runs_on_the_same_heldout_examples(two_runs):
    runs_dir, a, b = two_runs
    r = cli('compare', a, b, env={'FINETUNE_NB_RUNS': str(runs_dir)})
    assert r.returncode == 0, r.stderr[-2000:]
    out, = runs_dir.glob('*_compare')
    c = json.loads((out/'comparison.json').read_text())
    assert c['same_heldout'] and c['config_diff']['lr'] == [0.0002, 0.01] and set(c['paired']) == {b.name}
    assert 'paired on the same 8 held-out examples' in r.stdout and '| lr |' in r.stdout
    assert (out/'compare.ipynb').exists() and (out/'plots'/'losses.png').exists()
    r = cli('compare', a, runs_dir/'nope', env={'FINETUNE_NB_RUNS': str(runs_dir)})
    assert r.returncode == 2 and 'is not a run folder' in r.stderr


def test_checklist_reads_the_runs_and_follows_registration(two_runs):
    "Two configs on the same data count as tuning; registering updates metrics.json's checklist and report.md"
    runs_dir, a, b = two_runs
    env = {'FINETUNE_NB_RUNS': str(runs_dir)}
    r = cli('checklist', b, '--json', '--reviewed', '--by', 'ann', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    items = {i['key']: i for i in json.loads(r.stdout)}
    assert len(items) == 9 and items['tuning']['state'] == 'pass' and a.name in items['tuning']['evidence']
    assert items['data']['state'] == 'fail' and 'reviewed by ann' in items['data']['evidence']   # 48 examples < 500
    assert items['registry']['state'] == 'warn' and items['method']['state'] == 'pass'
    assert items['benchmark']['state'] == 'warn'   # prefer prompting
    r = cli('register', b, '--name', 'tinyb', '--force', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((b/'metrics.json').read_text())
    assert m['registered'][-1]['name'] == 'tinyb' and m['checklist'][7]['state'] == 'pass'
    report = (b/'report.md').read_text()
    assert report.count('<!-- checklist -->') == 1 and 'registered as tinyb version 1' in report
    r = cli('checklist', b, env=env)
    assert r.returncode == 0 and '| 8 | Versioned and registered | ✅ pass |' in r.stdout
    r = cli('checklist', runs_dir/'nope', env=env)
    assert r.returncode == 2 and 'is not a run folder' in r.stderr
