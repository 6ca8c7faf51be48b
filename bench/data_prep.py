"""Data stage speed: the full audit (load, validate, exact and near duplicates, split, leakage, diversity, balance, format)
plus tokenization under SmolLM2's chat template, on realistic synthetic chat data of growing size, side by side in one run.

Rows are multi-sentence prompts and answers drawn from templates and a 5,000-word vocabulary, with 1 % exact duplicates and
1 % near duplicates planted. The near-duplicate step (MinHash LSH) should grow linearly: the scaling exponent is the slope of
log(time) against log(rows) between the smallest and the largest size.

Last line: RESULT audit_100k_s=<s> scaling_exponent=<x>.   --quick: 5k and 20k rows (< 2 minutes).
"""
import argparse, json, math, random, sys, tempfile, time
from pathlib import Path
from finetune_nb.config import RunConfig
from finetune_nb.models import load_tokenizer
from finetune_nb.audit import prepare_data

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--quick', action='store_true'); ap.add_argument('--sizes', help='comma-separated row counts')
ap.add_argument('--num-proc', type=int, default=2, help='tokenizing processes (default 2: the machine has 2 cores)')
args = ap.parse_args()
sizes = [int(s) for s in args.sizes.split(',')] if args.sizes else [5_000, 20_000] if args.quick else [10_000, 100_000, 1_000_000]

rng = random.Random(0)
VOCAB = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(3, 9))) for _ in range(5000)]
TEMPLATES = ['Explain how {a} relates to {b} in {c}.', 'Write a short note about {a} and {b}.', 'What is the difference between {a} and {b}?',
             'Summarize the following: {s}', 'Give three facts about {a}.', 'Translate into plain words: {s}', 'How do I {a} a {b} with {c}?']

def sentence(n): return ' '.join(rng.choice(VOCAB) for _ in range(n)).capitalize() + '.'

def row(i):
    q = rng.choice(TEMPLATES).format(a=rng.choice(VOCAB), b=rng.choice(VOCAB), c=rng.choice(VOCAB), s=sentence(rng.randint(8, 25)))
    a = ' '.join(sentence(rng.randint(6, 16)) for _ in range(rng.randint(1, 4)))
    return {'messages': [{'role': 'user', 'content': q}, {'role': 'assistant', 'content': a}], 'category': rng.choice('abcde')}

def write(path, n):
    with open(path, 'w') as f:
        prev = []
        for i in range(n):
            r = row(i); u = rng.random()
            if prev and u < 0.01: r = json.loads(json.dumps(rng.choice(prev)))                       # exact duplicate
            elif prev and u < 0.02:                                                                   # near duplicate: one word changed
                r = json.loads(json.dumps(rng.choice(prev))); w = r['messages'][1]['content'].split(); w[rng.randrange(len(w))] = rng.choice(VOCAB)
                r['messages'][1]['content'] = ' '.join(w)
            if len(prev) < 1000: prev.append(r)
            elif rng.random() < 0.01: prev[rng.randrange(1000)] = r
            f.write(json.dumps(r) + '\n')

tok = load_tokenizer('smollm2-135m-instruct')
from finetune_nb.audit import minhashes, near_duplicate_pairs
near_duplicate_pairs(minhashes(['warm up the imports and numpy'] * 50))  # so the first size doesn't pay for imports
d = Path(tempfile.mkdtemp()); res = []
print(f"{'rows':>10}{'total s':>10}{'load':>8}{'tokenize':>10}{'near-dup':>10}{'audit':>8}{'rows/s':>10}{'near-dup rows':>15}", flush=True)
for n in sizes:
    p = d/f'chat_{n}.jsonl'; write(p, n)
    cfg = RunConfig(data_path=str(p), max_len=1024, max_reject_frac=1.0, eval_frac=0.05, num_proc=args.num_proc)
    t = time.time(); rep = prepare_data(cfg, tok, d/f'run_{n}'); total = time.time() - t
    tm = rep.sections['timings']; res.append((n, total, tm))
    print(f"{n:>10,}{total:>10.1f}{tm['load_s']:>8.1f}{tm['tokenize_s']:>10.1f}{tm['near_dup_s']:>10.1f}{tm['audit_s']:>8.1f}"
          f"{n/total:>10,.0f}{rep.sections['duplicates']['near_duplicate_rows']:>15,}", flush=True)
    p.unlink()
(n0, _, a), (n1, _, b) = res[0], res[-1]
expo = math.log(b['near_dup_s']/a['near_dup_s'])/math.log(n1/n0)
total_expo = math.log(res[-1][1]/res[0][1])/math.log(n1/n0)
print(f"near-duplicate detection scaling exponent {expo:.2f} (1 = linear), whole stage {total_expo:.2f}, from {n0:,} to {n1:,} rows")
at100k = next((t for n, t, _ in res if n == 100_000), None)
if at100k is None: at100k = res[-1][1]*100_000/res[-1][0]; print(f"100k rows not measured: {at100k:.1f}s extrapolated linearly from {res[-1][0]:,}")
print(f"RESULT audit_100k_s={at100k:.1f} scaling_exponent={expo:.2f}")
