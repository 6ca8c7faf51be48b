"""It works as installed, from any folder: a wheel in a fresh virtual environment runs the tiny preset from an empty
folder, with the pipeline notebooks and presets it ships, and writes its runs there."""
import json, os, subprocess, sys, sysconfig
from pathlib import Path
from conftest import ROOT, BIN


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ('FINETUNE_NB_RUNS', 'PYTHONPATH', 'VIRTUAL_ENV')}
    return env | extra


def test_the_wheel_runs_the_tiny_preset_from_an_empty_folder(tmp_path):
    dist = tmp_path/'dist'
    built = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', str(ROOT),
                            '-w', str(dist)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel, = dist.glob('finetune_nb-*.whl')
    venv = tmp_path/'venv'
    base_python = getattr(sys, '_base_executable', sys.executable)
    subprocess.run([base_python, '-m', 'venv', '--without-pip', str(venv)], check=True)
    py = venv/'bin'/'python'
    site = Path(subprocess.check_output([str(py), '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
                                        text=True).strip())
    # torch and the rest come from the test environment's site-packages; finetune_nb only from the wheel
    (site/'test_deps.pth').write_text(sysconfig.get_path('purelib') + '\n')
    installed = subprocess.run([sys.executable, '-m', 'pip', '--python', str(py), 'install', '-q', '--no-deps',
                                '--no-index', str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]
    empty = tmp_path/'empty'
    empty.mkdir()
    where = subprocess.run([str(py), '-c', 'import finetune_nb.runs as r; print(r.__file__); print(r.nbs_dir()); '
                            'print(r.find_file("configs/tiny.yaml")); print(r.runs_root())'],
                           cwd=empty, capture_output=True, text=True, env=clean_env())
    assert where.returncode == 0, where.stderr[-2000:]
    module, nbs, preset, runs = where.stdout.split()
    for p in (module, nbs, preset):
        assert p.startswith(str(site)), (p, site)
    assert runs == str(empty/'runs')
    r = subprocess.run([str(venv/'bin'/'finetune-nb'), 'run', 'configs/tiny.yaml'], cwd=empty, capture_output=True,
                       text=True, timeout=600, env=clean_env())
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    rd, = [p for p in (empty/'runs').iterdir() if (p/'config.yaml').exists()]
    m = json.loads((rd/'metrics.json').read_text())
    assert m['status'] == 'success' and m['eval']['verdict']['sentence']
    assert {p.name for p in rd.glob('pipeline_*.ipynb')} == {'pipeline_prepare.ipynb', 'pipeline_train.ipynb',
                                                             'pipeline_evaluate.ipynb'}
    assert not (empty/'configs').exists() and sorted(p.name for p in empty.iterdir()) == ['runs']


def test_an_editable_install_used_elsewhere_writes_runs_there(tmp_path):
    "Today's bug: an editable install wrote into the package's checkout wherever the user stood"
    r = subprocess.run([str(BIN/'python'), '-c', 'from finetune_nb.runs import runs_root; print(runs_root())'],
                       cwd=tmp_path, capture_output=True, text=True, env=clean_env())
    assert r.stdout.strip() == str(tmp_path/'runs'), r.stdout + r.stderr
    r = subprocess.run([str(BIN/'python'), '-c', 'from finetune_nb.runs import runs_root; print(runs_root())'],
                       cwd=ROOT/'nbs', capture_output=True, text=True, env=clean_env())
    assert r.stdout.strip() == str(ROOT/'runs'), 'inside a checkout, runs go to its runs/'
