"""Export benchmark on the demo run: export time and size of each format, generation speed of the merged model, the
adapter (base + LoRA, unmerged) and the GGUF files, all loaded by transformers, and the equivalence figures.

Uses the latest demo run (or --run DIR, any finished run). Exports go to a temporary folder; the run is not changed.
All generation is greedy, fp32, one batch of the run's first --probes held-out prompts, the run's max_new_tokens.
Last line: RESULT with the figures.
--smoke: no demo run needed: a tiny run (configs/tiny.yaml: the tiny random model, 2 steps) is prepared and trained
in-process in a temporary folder, then exported and checked on 4 probes with no agreement threshold (a random model's
q8_0 answers are near ties); seconds, run by the test command so the bench can't rot.
"""
import argparse, json, shutil, tempfile, time
from pathlib import Path
import torch
from finetune_nb.runs import runs_root
from finetune_nb.evaluate import generate, split_example
from finetune_nb.data import read_jsonl
from finetune_nb.export import export_run, load_export, load_run, run_record

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--run', help='a finished run folder (default: the latest demo-arpabet run)')
ap.add_argument('--probes', type=int, default=32, help='held-out prompts for the check and the speed test')
ap.add_argument('--broken', action='store_true', help='also check a GGUF without the Q/K permutation (must fail)')
ap.add_argument('--smoke', action='store_true', help='a tiny run trained here, 4 probes, no threshold: seconds')
args = ap.parse_args()
min_agreement = None   # the export module's own thresholds


def tiny_run()->Path:
    "A finished 2-step run of configs/tiny.yaml, made in-process with the stages' library calls"
    from finetune_nb.config import load_config, save_config
    from finetune_nb.models import load_tokenizer
    from finetune_nb.audit import prepare_data
    from finetune_nb.train import train_run
    from finetune_nb.runs import project_root
    tiny = load_config(project_root()/'configs'/'tiny.yaml')
    rd = Path(tempfile.mkdtemp())/'tiny'
    rd.mkdir()
    save_config(tiny, rd/'config.yaml')
    tok = load_tokenizer(tiny.model)
    prepare_data(tiny, tok, rd)
    train_run(tiny, tok, rd, progress=False)
    (rd/'metrics.json').write_text(json.dumps(dict(status='success')))   # what the runner writes when every stage ran
    return rd


run = Path(args.run) if args.run else next(iter(sorted(runs_root().glob('*_demo-arpabet'), reverse=True)), None)
if args.smoke:
    run = Path(args.run) if args.run else tiny_run()
    args.probes = 4
    min_agreement = 0.0
if run is None:
    raise SystemExit("no demo run: run `bash tools/demo.sh` (or pass --run DIR)")
cfg, _ = run_record(run)
print(f"run {run}; model {cfg.model}; torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)

out = Path(tempfile.mkdtemp())
checks = {}
for fmt, quant in (('merged', None), ('gguf', 'f16'), ('gguf', 'q8_0')):
    name = fmt if quant is None else f'gguf-{quant}'
    checks[name] = export_run(run, fmt, out/name, quant or 'q8_0', n_probes=args.probes, min_agreement=min_agreement,
                              progress=lambda s: None)
    c = checks[name]
    print(f"{name}: exported in {c['export_s']:.1f} s, {c['size_mb']:.1f} MB; checked in {c['check_s']:.1f} s",
          flush=True)

convs = [split_example(r['messages'])[0] for r in read_jsonl(run/'data'/'eval.jsonl')[:args.probes]]

def speed(model, tok)->tuple:
    "Generated tokens per second on the probes (after a warm-up), and the tokens"
    generate(model, tok, convs[:2], 4)
    t = time.time()
    answers = generate(model, tok, convs, cfg.max_new_tokens, batch_size=len(convs))
    n = sum(a['n_tokens'] for a in answers)
    return n/(time.time() - t), n

speeds = {}
speeds['adapter'] = speed(*load_run(run))
for name in checks:
    speeds[name] = speed(*load_export(out/name))

print(f"\n{'format':<11}{'export s':>9}{'size MB':>9}{'tok/s':>8}{'agreement':>11}{'identical':>11}"
      f"{'max logit diff':>16}{'error ratio':>13}")
a_tps, a_n = speeds['adapter']
print(f"{'adapter':<11}{'-':>9}{'-':>9}{a_tps:>8.1f}{'(reference)':>11}")
for name, c in checks.items():
    tps, _ = speeds[name]
    print(f"{name:<11}{c['export_s']:>9.1f}{c['size_mb']:>9.1f}{tps:>8.1f}{100*c['token_agreement']:>10.1f}%"
          f"{c['identical']:>7}/{c['n_probes']:<3}{c['max_logit_diff']:>16.4g}{c['logit_error_ratio']:>13.4f}")
if args.broken:
    import unittest.mock
    import finetune_nb.export as ex
    from finetune_nb.export import ExportCheckFailed
    with unittest.mock.patch.object(ex, 'permute_qk', lambda w, n: w):
        try:
            export_run(run, 'gguf', out/'broken', 'f16', n_probes=args.probes, progress=lambda s: None)
            print("\nBROKEN export (no Q/K permutation) PASSED the check: the check is blind to it")
        except ExportCheckFailed as e:
            c = e.check
            print(f"\nbroken GGUF f16 (no Q/K permutation): agreement {100*c['token_agreement']:.1f} %, "
                  f"{c['identical']}/{c['n_probes']} identical, max logit diff {c['max_logit_diff']:.4g}, "
                  f"error ratio {c['logit_error_ratio']:.3f}: rejected ({c['reason']})")
print("\nGGUF files are dequantized to fp32 by transformers: their speed there is the merged model's; q8_0 saves "
      "disk and llama.cpp memory, not transformers time.")
shutil.rmtree(out, ignore_errors=True)
print("RESULT " + ' '.join(f"{k}_agreement={c['token_agreement']} {k}_max_logit_diff={c['max_logit_diff']:.4g}"
                           for k, c in checks.items()) + ' ' +
      ' '.join(f"{k}_tok_s={v[0]:.1f}" for k, v in speeds.items()))
