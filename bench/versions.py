"""finetune_nb's training at two commits, side by side in one run: tokens/s, peak memory and the losses, interleaved.

For a change that must not change behaviour (a refactor), the losses must be identical and the speed and memory ratios
within the machine's noise. Each measurement runs in a fresh process (a clean peak RSS) with PYTHONPATH set to a git
worktree of the commit, alternating old/new, the fastest of `--rounds` kept for each.

Cases, on SmolLM2-135M-Instruct and the demo's data (CMUdict ARPAbet under the chat template), LoRA r=16, bf16 where the CPU
has it: `short` (batch 8 of the demo's rows, `--steps` steps) and `packed` (the same examples packed into rows of 256
tokens, batch 8, 4 steps). `--smoke`: the tiny random model, 2 steps, one round.

Usage: python bench/versions.py --old d370d1c [--new HEAD] [--rounds 3] [--steps 20] [--smoke]
Last line: RESULT short_tok_s_ratio=<new/old> short_mem_ratio=<x> packed_tok_s_ratio=<x> packed_mem_ratio=<x> same_losses=<bool>
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent("""
    import json, sys, time
    from finetune_nb.config import RunConfig
    from finetune_nb.models import load_tokenizer
    from finetune_nb.data import resolve_data, read_jsonl, tokenize_chat
    from finetune_nb.train import build_model, train
    case, model, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tok = load_tokenizer(model)
    rows = read_jsonl(resolve_data('builtin:cmudict-arpabet'))[:8 * max(steps, 4) * 4]
    examples = [tokenize_chat(tok, r['messages']) for r in rows]
    packed = case == 'packed'
    cfg = RunConfig(model=model, max_steps=4 if packed else steps, batch_size=8, lr=2e-4, warmup_frac=0.0, log_every=1,
                    packing='on' if packed else 'off', pack_len=256)
    m = build_model(cfg)
    t = time.time()
    s = train(cfg, m, tok, examples, [], sys.argv[4], progress=False)
    losses = [json.loads(line)['loss'] for line in open(sys.argv[4] + '/train_log.jsonl')]
    print('RESULT ' + json.dumps(dict(tok_s=s['tokens'] / (time.time() - t), peak_mb=s['peak_memory_mb'], losses=losses)))
""")


def worktree(rev: str) -> Path:
    "A detached worktree of `rev` in a temporary folder"
    path = Path(tempfile.mkdtemp(prefix='finetune_nb_')) / rev
    subprocess.run(['git', '-C', str(ROOT), 'worktree', 'add', '--detach', str(path), rev], check=True,
                   capture_output=True)
    return path


def measure(tree: Path, case: str, model: str, steps: int) -> dict:
    env = {**os.environ, 'PYTHONPATH': str(tree)}
    out = tempfile.mkdtemp()
    r = subprocess.run([sys.executable, '-c', PROBE, case, model, str(steps), out], capture_output=True, text=True, env=env)
    line = next((x for x in r.stdout.splitlines() if x.startswith('RESULT ')), None)
    if line is None:
        sys.exit(f"the {case} run at {tree} failed:\n{r.stderr[-2000:]}")
    return json.loads(line[7:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--old', required=True, help='the commit before the change')
    ap.add_argument('--new', default=None, help='the commit after (default: the working tree)')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--smoke', action='store_true', help='tiny model, 2 steps, one round')
    args = ap.parse_args()
    model = 'tiny-random-llama' if args.smoke else 'smollm2-135m-instruct'
    rounds, steps = (1, 2) if args.smoke else (args.rounds, args.steps)
    trees = dict(old=worktree(args.old), new=worktree(args.new) if args.new else ROOT)
    best = {}
    try:
        for _ in range(rounds):
            for case in ('short', 'packed'):
                for version, tree in trees.items():
                    r = measure(tree, case, model, steps)
                    key = (case, version)
                    if key not in best or r['tok_s'] > best[key]['tok_s']:
                        best[key] = r
    finally:
        for version, tree in trees.items():
            if tree != ROOT:
                subprocess.run(['git', '-C', str(ROOT), 'worktree', 'remove', '--force', str(tree)], capture_output=True)
    print(f"{model}, fastest of {rounds} interleaved round(s); old = {args.old}, new = {args.new or 'working tree'}")
    print(f"{'case':<8}{'old tok/s':>11}{'new tok/s':>11}{'ratio':>8}{'old MB':>9}{'new MB':>9}{'ratio':>8}  losses")
    ratios, same = {}, True
    for case in ('short', 'packed'):
        old, new = best[(case, 'old')], best[(case, 'new')]
        same_case = old['losses'] == new['losses']
        same = same and same_case
        ratios[case] = (new['tok_s'] / old['tok_s'], new['peak_mb'] / old['peak_mb'])
        print(f"{case:<8}{old['tok_s']:>11.1f}{new['tok_s']:>11.1f}{ratios[case][0]:>8.2f}{old['peak_mb']:>9.0f}"
              f"{new['peak_mb']:>9.0f}{ratios[case][1]:>8.2f}  {'identical' if same_case else 'DIFFER'}")
    print(f"RESULT short_tok_s_ratio={ratios['short'][0]:.3f} short_mem_ratio={ratios['short'][1]:.3f} "
          f"packed_tok_s_ratio={ratios['packed'][0]:.3f} packed_mem_ratio={ratios['packed'][1]:.3f} same_losses={same}")


if __name__ == '__main__':
    main()
