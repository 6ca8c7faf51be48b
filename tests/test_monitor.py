"The monitor as a deployment uses it: several writer processes, a locked database, drift, the CLI on the tiny model."
import json, random, sqlite3, subprocess, sys, textwrap, time
from dataclasses import asdict
from pathlib import Path
import pytest, yaml
from conftest import cli
from finetune_nb.config import load_config
from finetune_nb.data import resolve_data
from finetune_nb.monitor import Monitor, DatabaseBusy, MonitorError, analyze, monitoring_status

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "One tiny run, trained and evaluated by `finetune-nb run`, shared by the CLI tests here"
    runs = tmp_path_factory.mktemp('runs')
    r = cli('run', 'configs/tiny.yaml', env=dict(FINETUNE_NB_RUNS=str(runs)))   # tracked: it can be registered
    assert r.returncode == 0, r.stderr[-3000:]
    return next(p for p in runs.iterdir() if (p/'config.yaml').exists())

@pytest.fixture(scope='module')
def cmu_rows():
    rows = [json.loads(line) for _, line in zip(range(6000), open(resolve_data('builtin:cmudict-arpabet')))]
    random.Random(0).shuffle(rows)
    return rows

@pytest.fixture(scope='module')
def demo_like(tmp_path_factory, cmu_rows):
    "A run folder with the demo's data (1,000 training rows, 200 held-out) and held-out figures; no model needed"
    rd = tmp_path_factory.mktemp('demo_like')
    (rd/'data').mkdir()
    (rd/'config.yaml').write_text(yaml.safe_dump(asdict(load_config(None, ['model=tiny-random-llama']))))
    (rd/'data'/'train.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in cmu_rows[:1000]))
    (rd/'data'/'eval.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in cmu_rows[1000:1200]))
    ev = dict(primary='exact_match', summary=dict(finetuned=dict(exact_match=0.9, stopped=1.0)))
    (rd/'metrics.json').write_text(json.dumps(dict(status='success', eval=ev)))
    samples = [dict(prompt=r['messages'][:-1], reference=r['messages'][-1]['content'],
                    finetuned=r['messages'][-1]['content']) for r in cmu_rows[1000:1200]]
    (rd/'eval_samples.jsonl').write_text(''.join(json.dumps(s) + '\n' for s in samples))
    return rd

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from finetune_nb.monitor import Monitor
    rd, db, tag, n, go = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
    mon = Monitor(rd, db)
    while not go.exists():
        time.sleep(0.01)
    for i in range(n):
        mon.log(f'{tag} {i}', 'K AE1 T', 0.01, prompt_tokens=2, answer_tokens=3, stopped=True)
""")

def test_two_writer_processes_lose_nothing(demo_like, tmp_path):
    db, go, n = tmp_path/'m.db', tmp_path/'go', 1500
    Monitor(demo_like, db)   # the tables exist before the race
    procs = [subprocess.Popen([sys.executable, '-c', WRITER, str(demo_like), str(db), tag, str(n), str(go)])
             for tag in ('A', 'B')]
    time.sleep(3)
    go.touch()
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    con = sqlite3.connect(db)
    prompts = [json.loads(p) for (p,) in con.execute('SELECT prompt FROM requests')]
    assert sorted(prompts) == sorted([f'{t} {i}' for t in 'AB' for i in range(n)])
    ids = [i for (i,) in con.execute('SELECT id FROM requests ORDER BY id')]
    assert ids == list(range(1, 2 * n + 1))
    a_ids = [i for (i, p) in con.execute('SELECT id, prompt FROM requests') if p.startswith('"A')]
    assert a_ids[0] < 2 * n - n // 2 and a_ids[-1] > n // 2, 'the writers did not overlap'
    assert con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'

LOCKER = textwrap.dedent("""
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute('BEGIN EXCLUSIVE')
    print('locked', flush=True)
    time.sleep(float(sys.argv[2]))
    con.execute('COMMIT')
""")

def hold_lock(db, seconds):
    p = subprocess.Popen([sys.executable, '-c', LOCKER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == 'locked'
    return p

def test_locked_database_is_retried_then_one_clear_error(demo_like, tmp_path):
    db = tmp_path/'m.db'
    mon = Monitor(demo_like, db, timeout_s=0.1)
    p = hold_lock(db, 1.0)
    rid = mon.log('ARPAbet for "cat"', 'K AE1 T', 0.1, stopped=True)   # waits out the other writer
    p.wait(timeout=30)
    assert rid == 1
    p = hold_lock(db, 60)
    try:
        with pytest.raises(DatabaseBusy, match='stayed locked by another writer'):
            mon.log('ARPAbet for "dog"', 'D AO1 G', 0.1, stopped=True)
    finally:
        p.kill()
        p.wait()
    assert mon.count() == 1
    assert mon.con.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'

def garbled(rng)->str:
    return ''.join(rng.choice('qzxjkv#@!%&;0123456789') for _ in range(rng.randint(8, 40)))

def other_task(rng, words)->str:
    review = ' '.join(rng.choice(words) for _ in range(rng.randint(8, 25)))
    return f"Classify the sentiment of this review as positive or negative.\n\nReview: {review}"

def test_drift_alert_fires_on_a_shift_and_stays_quiet_in_distribution(demo_like, cmu_rows, tmp_path):
    mon = Monitor(demo_like, tmp_path/'m.db')
    t0 = time.time() - 86400
    traffic = cmu_rows[1200:6000]   # unseen words: neither trained on nor held out
    for i, r in enumerate(traffic):
        mon.log(r['messages'][:-1], r['messages'][-1]['content'], 0.05, stopped=True, ts=t0 + i)
    quiet = analyze(demo_like, tmp_path/'m.db', window=100)
    windows = quiet['windows']
    alarms = [w for w in windows if w['alerts']]
    rate = len(alarms) / len(windows)
    print(f"\nin-distribution: {len(alarms)} of {len(windows)} windows of 100 requests alerted "
          f"(false-alarm rate {100*rate:.1f} %); thresholds {quiet['thresholds']}", file=sys.__stderr__)
    assert len(windows) == 48 and rate <= 0.05, [w['alerts'] for w in alarms]
    rng = random.Random(0)
    words = [r['messages'][0]['content'].split('"')[1] for r in cmu_rows[:2000]]
    for shift, make in (('garbled', garbled), ('another task', lambda g: other_task(g, words))):
        for i in range(100):
            mon.log(make(rng), 'K AE1 T', 0.05, stopped=True, ts=t0 + 10_000 + i)
        res = analyze(demo_like, tmp_path/'m.db', window=100)
        fired = {a['check'] for a in res['alerts']}
        latest = res['windows'][-1]
        print(f"{shift}: alerts {sorted(fired)}; PSI length {latest['psi_length']:.2f}, tokens "
              f"{latest['psi_tokens']:.2f}", file=sys.__stderr__)
        assert {'psi_tokens_max'} <= fired, shift

def test_feedback_for_an_unknown_id_is_refused(demo_like, tmp_path):
    mon = Monitor(demo_like, tmp_path/'m.db')
    rid = mon.log('ARPAbet for "cat"', 'K AE1 T', stopped=True)
    with pytest.raises(MonitorError, match=r'feedback for request 99: no such request .*ids run from 1 to 1'):
        mon.feedback(99, reference='K AE1 T')
    mon.feedback(rid, reference='K AE1 T', rating=5)
    assert mon.con.execute('SELECT count(*) FROM feedback').fetchone()[0] == 1

def test_monitor_cli_on_the_tiny_model(run, tmp_path):
    eval_rows = [json.loads(line) for line in (run/'data'/'eval.jsonl').read_text().splitlines()]
    good = [json.dumps(r) for r in eval_rows]          # prompts with their reference answers
    prompts = tmp_path/'prompts.jsonl'
    prompts.write_text('\n'.join(good[:3] + ['{"messages": [', json.dumps(dict(messages=[])), *good[3:]]) + '\n')
    r = cli('monitor', 'log', run, '--input', prompts)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'{prompts}:4: rejected: invalid JSON' in r.stderr and f'{prompts}:5: rejected' in r.stderr
    assert f'logged {len(eval_rows)} requests' in r.stdout and f'({len(eval_rows)} with a reference)' in r.stdout
    r = cli('monitor', 'feedback', run, '999', '--reference', 'x')
    assert r.returncode == 2 and 'feedback for request 999: no such request' in r.stderr
    n = len(eval_rows)
    r = cli('monitor', 'report', run, '--window', n)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    folder = Path(r.stdout.strip().splitlines()[-1].split(': ', 1)[1])
    assert folder.parent == run/'monitor'
    assert {'monitor.ipynb', 'report.md', 'alerts.json', 'plots'} <= {p.name for p in folder.iterdir()}
    assert (folder/'plots'/'monitor.png').stat().st_size > 0
    assert json.loads((folder/'alerts.json').read_text())['alerts'] == []
    status = monitoring_status(run)
    assert status['configured'] and status['n_requests'] == n and status['n_feedback'] == n
    rng = random.Random(0)
    (tmp_path/'garbled.jsonl').write_text(''.join(json.dumps(dict(prompt=garbled(rng))) + '\n' for _ in range(n)))
    assert cli('monitor', 'log', run, '--input', tmp_path/'garbled.jsonl').returncode == 0
    r = cli('monitor', 'report', run, '--window', n, '--threshold', 'eos_rate_min=0.5')   # the tiny model never stops
    assert r.returncode == 3, r.stderr[-3000:]
    assert 'ALERT: EOS rate below 0.5' in r.stderr and 'PSI above' in r.stderr, r.stderr[-3000:]
    latest = sorted((run/'monitor').iterdir())[-1]
    alerts = json.loads((latest/'alerts.json').read_text())
    assert alerts['thresholds']['eos_rate_min'] == 0.5 and alerts['latest']['first_id'] == n + 1
    r = cli('monitor', 'report', run, '--threshold', 'psi=1')
    assert r.returncode == 2 and "unknown threshold 'psi'" in r.stderr

def test_a_registered_model_is_monitored(run, monkeypatch):
    monkeypatch.setenv('FINETUNE_NB_RUNS', str(run.parent))
    env = dict(FINETUNE_NB_RUNS=str(run.parent))
    r = cli('register', run, '--name', 'arpa', '--alias', 'champion', '--force', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    mon = Monitor('arpa@champion')
    assert mon.run_dir == run.resolve() and mon.db == run.parent/'monitor'/'arpa_champion.db'
    out = mon.generate(['ARPAbet for "cat"', 'ARPAbet for "dog"'], max_new_tokens=4)
    assert [o['id'] for o in out] == [1, 2] and mon.count() == 2
    with pytest.raises(MonitorError, match='not a run folder and not a registered model'):
        Monitor('no-such-model@champion')
