"""Runs that never lie: one owner per run folder, a status that follows signals and kills, numeric and disk faults that
fail the run and keep the last good checkpoint, errors that name the real cause. Every case runs the real CLI
(`finetune-nb`, papermill, kernels) on the tiny config."""
import json, os, random, shutil, signal, subprocess, time
from pathlib import Path
import pytest
from safetensors.torch import load_file
from conftest import ROOT, BIN, cli, wait_for

LONG = ['-p', 'max_steps=300', '-p', 'save_every=10']   # long enough to be caught mid-training


def start(runs_dir, *args):
    "`finetune-nb run configs/tiny.yaml ARGS` in the background"
    env = {**os.environ, 'FINETUNE_NB_RUNS': str(runs_dir)}
    return subprocess.Popen([str(BIN/'finetune-nb'), 'run', 'configs/tiny.yaml', *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def the_run(runs_dir):
    runs = [p for p in runs_dir.iterdir() if (p/'config.yaml').exists()]
    assert len(runs) == 1, runs
    return runs[0]


def metrics(rd):
    return json.loads((rd/'metrics.json').read_text())


def log_steps(rd):
    return [json.loads(line)['step'] for line in (rd/'train_log.jsonl').read_text().splitlines()]


def kernels_of(pid):
    import psutil
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_a_live_run_refuses_a_second_trainer_and_a_dead_one_is_taken_over(runs_dir):
    "Must hold 1 and 2: resume on a live run is refused; after kill -9 the kernel is gone, the listing says dead"
    p = start(runs_dir, *LONG, '-p', 'name=live')
    wait_for(lambda: list(runs_dir.glob('*/checkpoint/state.pt')), what='the first checkpoint')
    rd = the_run(runs_dir)
    second = cli('resume', rd)
    assert second.returncode == 2, second.stderr
    assert f'is in use by pid {p.pid} on' in second.stderr and 'heartbeat' in second.stderr
    assert 'running' in cli('runs', '--runs-dir', runs_dir).stdout
    kernels = kernels_of(p.pid)
    assert kernels, 'the run has a kernel'
    p.kill()
    p.wait()
    time.sleep(1.5)
    assert not any(k.is_running() and k.status() != 'zombie' for k in kernels), 'the kernel outlived its runner'
    steps = log_steps(rd)
    time.sleep(2)
    assert log_steps(rd) == steps, 'training went on after the runner died'
    listing = cli('runs', '--runs-dir', runs_dir)
    assert rd.name in listing.stdout and ' dead ' in listing.stdout, listing.stdout
    resumed = cli('resume', rd)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'taking over' in resumed.stdout and 'from its dead owner' in resumed.stdout
    assert metrics(rd)['status'] == 'success' and metrics(rd)['error'] is None
    assert log_steps(rd) == list(range(1, 301))
    assert not (rd/'run.lock').exists()


def test_sigterm_and_ctrl_c_mark_the_run_interrupted_and_resume_finishes_it(runs_dir):
    "Must hold 2: SIGTERM and SIGINT give status failed, reason interrupted, no running kernel; resume works after each"
    p = start(runs_dir, *LONG, '-p', 'name=signals')
    wait_for(lambda: list(runs_dir.glob('*/checkpoint/state.pt')), what='the first checkpoint')
    rd = the_run(runs_dir)
    for signum in (signal.SIGTERM, signal.SIGINT):
        kernels = kernels_of(p.pid)
        p.send_signal(signum)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 128 + signum, err[-2000:]
        m = metrics(rd)
        assert m['status'] == 'failed', m
        assert m['error']['reason'] == 'interrupted' and m['error']['stage'] == 'train', m['error']
        assert signal.Signals(signum).name in m['error']['evalue']
        assert 'Traceback' not in err and 'asyncio' not in err, err[-3000:]
        assert f'continue with: finetune-nb resume {rd}' in err
        assert not any(k.is_running() and k.status() != 'zombie' for k in kernels), 'the kernel outlived the run'
        assert not (rd/'run.lock').exists()
        env = {**os.environ, 'FINETUNE_NB_RUNS': str(runs_dir)}
        before = len(log_steps(rd))
        p = subprocess.Popen([str(BIN/'finetune-nb'), 'resume', str(rd)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        wait_for(lambda: metrics(rd).get('status') == 'running' and len(log_steps(rd)) > before + 5,
                 what='training again')
    out, err = p.communicate(timeout=900)   # a liveness bound: 300 steps and an evaluation on a loaded 2-core machine
    assert p.returncode == 0, err[-3000:]
    assert metrics(rd)['status'] == 'success' and log_steps(rd) == list(range(1, 301))


def test_errors_before_the_run_folder_exists_name_the_real_cause(runs_dir, tmp_path):
    "Must hold 3: no other run's table, no traceback, exit 2, nothing created"
    done = runs_dir/'20260101T000000Z_earlier'
    done.mkdir(parents=True)
    (done/'metrics.json').write_text(json.dumps(dict(status='success', run_dir=str(done))))
    r = cli('run', 'configs/tiny.yaml', '-p', 'name=' + 'x'*300)
    assert r.returncode == 2 and 'name: at most 100 characters, got 300' in r.stderr, r.stderr
    assert 'status: success' not in r.stdout + r.stderr and 'Traceback' not in r.stderr
    blocked = tmp_path/'a_file'
    blocked.write_text('')
    r = cli('run', 'configs/tiny.yaml', '--runs-dir', blocked/'runs')
    expected = f'cannot create the runs folder {blocked/"runs"}: Not a directory'
    assert r.returncode == 2 and expected in r.stderr, r.stderr
    assert r.stderr.count('finetune-nb:') == 1 and 'Traceback' not in r.stderr
    assert [p.name for p in runs_dir.iterdir()] == [done.name]   # no run folder, no tracking store


def test_an_empty_read_only_runs_dir_is_one_clear_error(tmp_path):
    "Must hold 3: run as an ordinary user (root may write anywhere), a read-only --runs-dir is one message"
    if os.geteuid() != 0:
        user = []
    elif shutil.which('setpriv'):
        user = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    else:
        pytest.fail("running as root without setpriv (util-linux): can't drop to an ordinary user for this test")
    import tempfile
    home = Path(tempfile.mkdtemp(prefix='finetune_nb_ro_'))   # pytest's tmp_path is private to root
    home.chmod(0o755)
    ro = home/'readonly'
    ro.mkdir(mode=0o555)
    ro.chmod(0o555)
    r = subprocess.run([*user, str(BIN/'finetune-nb'), 'run', str(ROOT/'configs/tiny.yaml'), '--runs-dir', str(ro)],
                       cwd=home, capture_output=True, text=True, timeout=120, env={**os.environ, 'HOME': str(home)})
    shutil.rmtree(home)
    assert r.returncode == 2, r.stderr[-2000:]
    assert f'cannot create the run folder {ro}/' in r.stderr and 'Permission denied' in r.stderr, r.stderr[-2000:]
    assert 'Traceback' not in r.stderr


@pytest.mark.parametrize('args,msg', [
    (['-p', 'lr=inf'], 'lr: must be a finite number, got inf'),
    (['-p', 'max_grad_norm=.nan'], 'max_grad_norm: must be a finite number, got nan'),
    (['-p', 'precision=fp16'], 'precision: fp16 training needs loss scaling'),
    (['-p', 'name=../../escape'], "name: must be non-empty and contain no '/'"),
])
def test_refused_at_validation_before_any_data_is_read(runs_dir, args, msg):
    "Must hold 4 and 6: non-finite numbers and fp16 training are refused before the data stage"
    r = cli('run', 'configs/tiny.yaml', *args)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_loss_that_turns_nan_fails_the_run_and_keeps_the_last_good_checkpoint(runs_dir):
    "Must hold 4: an absurd learning rate trains to nan; the run fails naming the step, the checkpoint stays finite"
    import torch
    r = cli('run', 'configs/tiny.yaml', '-p', 'lr=1e30', '-p', 'max_steps=40', '-p', 'save_every=1', '-p',
            'warmup_frac=0', '-p', 'name=nan')
    assert r.returncode == 1, r.stderr[-2000:]
    rd = the_run(runs_dir)
    m = metrics(rd)
    assert m['status'] == 'failed' and m['error']['stage'] == 'train' and m['error']['ename'] == 'NumericError'
    step = int(m['error']['evalue'].split()[1].rstrip(':'))
    assert f'checkpoint of step {step - 1} is kept' in m['error']['evalue'], m['error']
    state = torch.load(rd/'checkpoint'/'state.pt', weights_only=False)
    assert state['step'] == step - 1 and all(v.isfinite().all() for v in state['model'].values())
    assert 'eval' not in m and not (rd/'adapter').exists()
    assert 'verdict' not in r.stdout + r.stderr


def test_a_bom_file_loses_no_row_and_the_summary_names_the_quarantine(runs_dir, tmp_path):
    "Must hold 5: a BOM is not a bad first row; the summary says how many rows went where; no secret is saved"
    rows = [json.dumps({'messages': [{'role': 'user', 'content': f'Spell {w}'}, {'role': 'assistant', 'content': w}]})
            for w in (f'word{i}' for i in range(40))]
    data = tmp_path/'bom.jsonl'
    data.write_bytes(b'\xef\xbb\xbf' + '\n'.join(rows[:20] + ['{"messages": [oops'] + rows[20:]).encode() + b'\n')
    secret = 'hf_SECRETtoken1234567890'
    r = cli('run', 'configs/tiny.yaml', '-p', f'data_path={data}', '-p', 'max_examples=0', '-p', 'max_reject_frac=0.1',
            env={'HF_TOKEN': secret})
    assert r.returncode == 0, r.stderr[-2000:]
    rd = the_run(runs_dir)
    assert not [p for p in rd.rglob('*') if p.is_file() and secret.encode() in p.read_bytes()], 'a secret was saved'
    assert metrics(rd)['data']['n_train'] + metrics(rd)['data']['n_eval'] == 40
    rejected = [json.loads(line) for line in (rd/'rejected.jsonl').read_text().splitlines()]
    assert [(x['line'], x['reason'][:12]) for x in rejected] == [(21, 'invalid JSON')]
    assert f'data: 1 rows quarantined with their reasons in {rd/"rejected.jsonl"}' in r.stdout


def test_data_report_on_an_all_bad_file_prints_the_reasons(tmp_path):
    "Must hold 5: not just 'Need training and eval examples'"
    data = tmp_path/'bad.jsonl'
    data.write_text('{"messages": [oops\n{"msgs": []}\n[1, 2]\n')
    r = cli('data-report', data, '-p', 'model=tiny-random-llama')
    assert r.returncode == 2
    for reason in ('invalid JSON', "missing field 'messages'", 'row is a list'):
        assert reason in r.stderr, r.stderr
    assert f'{data}:1:' in r.stderr and 'Traceback' not in r.stderr


def test_a_full_disk_while_saving_fails_the_run_and_keeps_the_previous_checkpoint(tmp_path):
    "Must hold 8, on a real full file system: a 6 MB tmpfs filled up after the first checkpoint"
    mnt = tmp_path/'small'
    mnt.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', str(mnt)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here ({mounted.stderr.strip()}); 03_train's notebook test injects the error")
    try:
        runs_dir = mnt/'runs'
        p = start(runs_dir, *LONG, '-p', 'name=full')
        wait_for(lambda: list(runs_dir.glob('*/checkpoint/state.pt')), what='the first checkpoint')
        rd = the_run(runs_dir)
        size = (rd/'checkpoint'/'state.pt').stat().st_size
        free = os.statvfs(mnt).f_bavail*os.statvfs(mnt).f_frsize
        filler = mnt/'filler'
        filler.write_bytes(b'\0'*(free - size//2))   # room for logs and notebooks, not for another checkpoint
        out, err = p.communicate(timeout=120)
        assert p.returncode == 1, err[-2000:]
        m = metrics(rd)
        assert m['status'] == 'failed' and m['error']['stage'] == 'train', m.get('error')
        # the checkpoint write fails first (SaveError); papermill may then fail to save the notebook (OSError ENOSPC)
        assert m['error']['ename'] in ('SaveError', 'OSError'), m['error']
        assert 'could not write the checkpoint' in m['error']['evalue'] or 'No space left' in m['error']['evalue']
        import torch
        state = torch.load(rd/'checkpoint'/'state.pt', weights_only=False)
        assert state['step'] % 10 == 0 and all(v.isfinite().all() for v in state['model'].values())
        assert not (rd/'.checkpoint.tmp').exists() and not (rd/'adapter').exists()
        filler.unlink()
        r = cli('resume', rd, env={'FINETUNE_NB_RUNS': str(runs_dir)})
        assert r.returncode == 0, r.stderr[-2000:]
        assert metrics(rd)['status'] == 'success' and log_steps(rd) == list(range(1, 301))
    finally:
        subprocess.run(['umount', '-l', str(mnt)])


def test_chaos_kill_9_five_times_then_resume_gives_the_uninterrupted_adapter(runs_dir):
    "Tests: kill -9 at five random moments (any stage), resume each time; the adapter equals an uninterrupted run's"
    args = ['-p', 'max_steps=120', '-p', 'save_every=7', '-p', 'precision=fp32']
    whole = cli('run', 'configs/tiny.yaml', *args, '-p', 'name=whole')
    assert whole.returncode == 0, whole.stderr[-2000:]
    rng = random.Random(13)
    p = start(runs_dir, *args, '-p', 'name=chaos')
    wait_for(lambda: len(list(runs_dir.glob('*_chaos/metrics.json'))) == 1, what='the chaos run folder')
    rd = next(runs_dir.glob('*_chaos'))
    kills = 0
    while kills < 5:
        time.sleep(rng.uniform(2, 25))
        if p.poll() is not None:   # finished before the kill: a fresh run would leave nothing to resume
            break
        p.kill()
        p.wait()
        kills += 1
        p = subprocess.Popen([str(BIN/'finetune-nb'), 'resume', str(rd)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, 'FINETUNE_NB_RUNS': str(runs_dir)})
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-3000:]
    assert kills >= 3, f'only {kills} kills landed before the run finished'
    whole_dir = next(runs_dir.glob('*_whole'))
    a = load_file(whole_dir/'adapter'/'adapter_model.safetensors')
    b = load_file(rd/'adapter'/'adapter_model.safetensors')
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert metrics(rd)['status'] == 'success' and log_steps(rd) == log_steps(whole_dir)
