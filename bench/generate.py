"""Generation speed on the demo task with the real SmolLM2-135M-Instruct, measured side by side in one run.

1. batched (sorted by length, shared-prefix KV cache, batch 64) vs one prompt at a time (plain `generate`), same prompts:
   generated tokens per second of each and the ratio.
2. the whole evaluation stage (base zero-shot, base 5-shot, fine-tuned; held-out losses) on 200 held-out examples, as the
   pipeline runs it, with the evaluation settings of configs/demo.yaml. It uses the latest demo run's adapter (or --run DIR); without one it prepares the demo data in a
   temporary run and uses an untrained adapter (pessimistic: its answers are as long as the base model's).

Last line: RESULT batched_speedup=<x> eval_200_s=<s>.   --quick: fewer prompts, eval on 50 examples (< 2 minutes).
--smoke: the tiny random model (configs/tiny.yaml), 4 prompts, eval on 8 examples, always a fresh untrained adapter
(seconds; run by the test command so the bench can't rot).
"""
import argparse, json, sys, tempfile, time
from pathlib import Path
import torch
from finetune_nb.config import load_config
from finetune_nb.models import load_tokenizer, load_model, resolve_precision
from finetune_nb.data import read_jsonl
from finetune_nb.audit import prepare_data
from finetune_nb.evaluate import generate, baseline_conv, split_example, evaluate_run
from finetune_nb.runs import project_root, runs_root

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--quick', action='store_true')
ap.add_argument('--smoke', action='store_true', help='the tiny random model, a few prompts: seconds')
ap.add_argument('--run', help='a demo run folder whose adapter is evaluated')
args = ap.parse_args()
n_cmp, n_eval = (16, 50) if args.quick else (64, 200)
preset = 'demo.yaml'
if args.smoke:
    n_cmp, n_eval = 4, 8
    preset = 'tiny.yaml'
root = project_root()
cfg = load_config(root/'configs'/preset, dict(eval_samples=n_eval))
tok = load_tokenizer(cfg.model)
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; model {cfg.model}; eval precision {resolve_precision(cfg.eval_precision)}", flush=True)

run = Path(args.run) if args.run else next(iter(sorted(runs_root().glob('*_demo-arpabet'), reverse=True)), None)
if args.smoke:
    run = None   # never a demo run: the tiny model's own untrained adapter
if run is None or not (run/'adapter').exists():
    from peft import get_peft_model
    from finetune_nb.train import lora_config
    run = Path(tempfile.mkdtemp()); print(f"no demo run found: preparing one in {run} with an untrained adapter", flush=True)
    prepare_data(cfg, tok, run); get_peft_model(load_model(cfg.model), lora_config(cfg)).save_pretrained(run/'adapter')
ev = read_jsonl(run/'data'/'eval.jsonl')
convs = [baseline_conv(split_example(r['messages'])[0], cfg.task_prompt) for r in ev[:n_cmp]]

model = load_model(cfg.model); prec = resolve_precision(cfg.eval_precision)
generate(model, tok, convs[:2], 4)  # warm-up
t = time.time(); single = [generate(model, tok, [c], cfg.max_new_tokens, precision=prec, share_prefix=False)[0] for c in convs]; t_single = time.time() - t
t = time.time(); batched = generate(model, tok, convs, cfg.max_new_tokens, cfg.gen_batch_size, precision=prec); t_batched = time.time() - t
tok_single, tok_batched = sum(a['n_tokens'] for a in single), sum(a['n_tokens'] for a in batched)
same = sum(a['text'] == b['text'] for a, b in zip(single, batched))
print(f"{'':<12}{'prompts':>8}{'tokens':>8}{'seconds':>9}{'tok/s':>8}")
print(f"{'one-by-one':<12}{len(convs):>8}{tok_single:>8}{t_single:>9.1f}{tok_single/t_single:>8.1f}")
print(f"{'batched':<12}{len(convs):>8}{tok_batched:>8}{t_batched:>9.1f}{tok_batched/t_batched:>8.1f}")
speedup = (tok_batched/t_batched)/(tok_single/t_single)
print(f"batched / one-by-one: {speedup:.1f}x tokens/s; identical answers: {same}/{len(convs)}", flush=True)

out = Path(tempfile.mkdtemp()); (out/'data').mkdir()
for f in ('train.jsonl', 'eval.jsonl'): (out/'data'/f).write_text((run/'data'/f).read_text())
(out/'adapter').symlink_to((run/'adapter').resolve())
t = time.time(); res = evaluate_run(cfg, tok, out, progress=lambda s: None); t_eval = time.time() - t
print(f"evaluation stage on {res['n']} examples: {t_eval:.1f}s  (" + ', '.join(f"{k} {v['gen_s']:.1f}s" for k, v in res['summary'].items()) + ')')
print(f"RESULT batched_speedup={speedup:.2f} eval_{n_eval}_s={t_eval:.1f}")
