"""Does MLflow tracking slow training? The same run through `finetune-nb run`, tracking on and off, side by side in one
bench run: interleaved rounds (identical runs on this machine differ by up to 1.7x), the fastest of each kept.

Each run trains SmolLM2-135M-Instruct on the demo task with a log record every step (the most tracking traffic there can
be), its held-out evaluation cut to a few examples. Reported: the training stage's tokens/s with tracking (the runner
syncs train_log.jsonl into MLflow's SQLite store every 10 s from its own process) and without, and their ratio; the
target is within 3 %. Also the number of step metrics that reached MLflow, read back through its API.

Last line: RESULT tracking_on_tok_s=<x> tracking_off_tok_s=<x> ratio=<on/off>.
--quick: 20 steps, 2 rounds.  --smoke: the tiny model, 3 steps, 1 round (seconds; run by the test command).
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--quick', action='store_true')
ap.add_argument('--smoke', action='store_true')
args = ap.parse_args()
preset, model = 'configs/demo.yaml', 'smollm2-135m-instruct'
steps, rounds = (20, 2) if args.quick else (60, 3)
if args.smoke:
    preset, model = 'configs/tiny.yaml', 'tiny-random-llama'
    steps, rounds = 3, 1


def one_run(tracking:str, runs:Path)->dict:
    "One `finetune-nb run`; returns its training figures and the MLflow step metrics it left"
    params = [f'tracking={tracking}', f'model={model}', f'max_steps={steps}', 'log_every=1', 'eval_samples=4',
              'max_new_tokens=4', 'few_shot=1', 'max_examples=400', 'save_every=0', f'name={tracking}']
    cmd = [str(BIN/'finetune-nb'), 'run', preset, *sum((['-p', p] for p in params), [])]
    env = {**os.environ, 'FINETUNE_NB_RUNS': str(runs)}
    env.pop('MLFLOW_TRACKING_URI', None)
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"run failed ({tracking}):\n{r.stderr[-3000:]}")
    rd = max((p for p in runs.glob(f'*_{tracking}') if (p/'metrics.json').exists()), key=lambda p: p.name)
    m = json.loads((rd/'metrics.json').read_text())
    logged = 0
    if tracking == 'mlflow':
        from mlflow.tracking import MlflowClient
        run_id = json.loads((rd/'tracking.json').read_text())['run_id']
        client = MlflowClient(tracking_uri=f"sqlite:///{runs.resolve()}/mlflow.db")
        logged = len(client.get_metric_history(run_id, 'loss'))
    return dict(tok_s=m['train']['tokens_per_s'], train_s=m['timings']['train_s'], logged=logged)


with tempfile.TemporaryDirectory() as tmp:
    runs = Path(tmp)/'runs'
    results = dict(mlflow=[], none=[])
    for i in range(rounds):
        for tracking in (('mlflow', 'none') if i % 2 == 0 else ('none', 'mlflow')):
            t0 = time.time()
            res = one_run(tracking, runs)
            results[tracking].append(res)
            print(f"round {i + 1} tracking={tracking:<6} {res['tok_s']:>8.1f} tok/s  train {res['train_s']:.1f} s  "
                  f"MLflow loss points {res['logged']}  ({time.time() - t0:.0f} s)", flush=True)
on = max(r['tok_s'] for r in results['mlflow'])
off = max(r['tok_s'] for r in results['none'])
assert all(r['logged'] == steps for r in results['mlflow']), "every step's loss must reach MLflow"
print(f"fastest of {rounds}: tracking on {on:.1f} tok/s, off {off:.1f} tok/s, ratio {on/off:.3f} (target >= 0.97)")
print(f"RESULT tracking_on_tok_s={on:.1f} tracking_off_tok_s={off:.1f} ratio={on/off:.3f}")
