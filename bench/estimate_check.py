"""Predicted vs measured peak memory and throughput of training runs on SmolLM2-135M-Instruct, side by side in one run.

Each row trains 3 steps in a fresh process on synthetic chat examples of a given length and batch size, and reads the
process's peak RSS (peak allocated memory on CUDA); `finetune_nb.estimate.estimate` predicts the same from the model config
and the examples' token counts before training. The activation constants in `estimate` were fitted on the rows 8 x 235 (LoRA),
8 x 88 and 16 x 88 (LoRA: eager attention's scores), 8 x 88 (full) and 16 x 88 (checkpointing); the other rows are out of
sample. The packed row (`pack`: rows of up to that many tokens, `batch` of them a step) checks that `estimate` follows `train`'s
packing: before it did, it predicted such runs from the examples' lengths, several times too low.

Last line: RESULT max_abs_error=<share> within_25pct=<k>/<n>.   --quick: the first three shapes.
"""
import argparse, json, subprocess, sys, textwrap
SHAPES = [  # (batch, approx. tokens per example, method, gradient checkpointing, pack_len or 0: no packing)
    (8, 100, 'lora', 0, 0), (16, 100, 'lora', 0, 0), (32, 100, 'lora', 0, 0), (8, 365, 'lora', 0, 0), (4, 700, 'lora', 0, 0),
    (8, 100, 'full', 0, 0), (16, 100, 'full', 0, 0), (16, 100, 'lora', 1, 0), (32, 200, 'lora', 1, 0), (4, 100, 'lora', 0, 512),
    (32, 100, 'lora', 1, 512)]
PROBE = textwrap.dedent("""
    import sys, json, torch
    from finetune_nb.config import RunConfig
    from finetune_nb.models import load_tokenizer
    from finetune_nb.data import tokenize_chat
    from finetune_nb.train import build_model, train
    from finetune_nb.estimate import estimate, process_rss_mb
    bs, L, method, gc, pl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == '1', int(sys.argv[5])
    tok = load_tokenizer('smollm2-135m-instruct'); base = process_rss_mb()
    w = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu'.split()
    exs = [tokenize_chat(tok, [{'role': 'user', 'content': ' '.join(w[(i+j) % 12] for j in range(L//4))},
                               {'role': 'assistant', 'content': ' '.join(w[(3*i+j) % 12] for j in range(L//6))}]) for i in range(bs*(4 if not pl else 4*pl//L))]
    cfg = RunConfig(model='smollm2-135m-instruct', max_steps=3, batch_size=bs, method=method, grad_checkpointing=gc,
                    packing='on' if pl else 'off', pack_len=pl, log_every=1)
    est = estimate(cfg, [len(e['input_ids']) for e in exs], [sum(l != -100 for l in e['labels']) for e in exs], base_mb=base)
    s = train(cfg, build_model(cfg), tok, exs, [], '/tmp/finetune_nb_estimate_check', progress=False)
    print('RESULT ' + json.dumps(dict(tokens=max(len(e['input_ids']) for e in exs), est=est.memory_mb.peak, peak=s['peak_memory_mb'],
                                       est_tok_s=est.tokens_per_s, tok_s=s['tokens_per_s'])))
""")
ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('--quick', action='store_true')
args = ap.parse_args()
print(f"{'batch':>6}{'tokens':>8}{'method':>8}{'ckpt':>6}{'pack':>6}{'est. MB':>10}{'peak MB':>10}{'error':>8}{'est. tok/s':>12}{'tok/s':>8}", flush=True)
errs = []
for bs, L, method, gc, pl in SHAPES[:3] if args.quick else SHAPES:
    r = subprocess.run([sys.executable, '-c', PROBE, str(bs), str(L), method, str(gc), str(pl)], capture_output=True, text=True)
    line = next((l for l in r.stdout.splitlines() if l.startswith('RESULT ')), None)
    if line is None: print(f"{bs:>6}{L:>8}{method:>8}{gc:>6}{pl:>6}  failed: {r.stderr[-300:]}"); continue
    d = json.loads(line[7:]); e = d['est']/d['peak'] - 1; errs.append(e)
    print(f"{bs:>6}{d['tokens']:>8}{method:>8}{gc:>6}{pl:>6}{d['est']:>10.0f}{d['peak']:>10.0f}{e:>+8.1%}{d['est_tok_s']:>12.0f}{d['tok_s']:>8.0f}", flush=True)
print(f"RESULT max_abs_error={max(map(abs, errs)):.3f} within_25pct={sum(abs(e) <= 0.25 for e in errs)}/{len(errs)}")
