#!/usr/bin/env bash
# Prepared check for a CUDA machine (the device tool's H200 when a task is lent one): LoRA in bf16 vs QLoRA nf4 on a
# randomly initialized ~1.2B Llama config (no weights can be downloaded there either), batch 8 x 256 tokens, 20 steps each.
# Prints tokens/s, peak allocated memory and the error of finetune_nb.estimate.estimate for each, then one RESULT line.
# Usage (repo root, package installed): bash bench/gpu_check.sh      ~3 minutes on an H200 after installs.
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'PY'
import json, tempfile, time, torch
from pathlib import Path
from transformers import LlamaConfig, LlamaForCausalLM
from finetune_nb.config import RunConfig
from finetune_nb.models import load_tokenizer
from finetune_nb.data import tokenize_chat
from finetune_nb.train import build_model, train
from finetune_nb.estimate import estimate
assert torch.cuda.is_available(), "gpu_check.sh needs a CUDA GPU"
tok = load_tokenizer('tiny-random-llama')           # the real SmolLM2 tokenizer and chat template
d = Path(tempfile.mkdtemp())/'llama-1b-random'
cfg = LlamaConfig(vocab_size=len(tok), hidden_size=2048, intermediate_size=5632, num_hidden_layers=20, num_attention_heads=16,
                  num_key_value_heads=8, max_position_embeddings=4096, tie_word_embeddings=False,
                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
torch.manual_seed(0); LlamaForCausalLM(cfg).save_pretrained(d); tok.save_pretrained(d)
words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu'.split()
exs = [tokenize_chat(tok, [{'role': 'user', 'content': ' '.join(words[(i+j) % 12] for j in range(110))},
                           {'role': 'assistant', 'content': ' '.join(words[(3*i+j) % 12] for j in range(100))}]) for i in range(160)]
out = {}
for q in ('none', 'nf4'):
    torch.cuda.reset_peak_memory_stats(); torch.cuda.empty_cache()
    rc = RunConfig(model=str(d), quantize=q, max_steps=20, batch_size=8, packing='off', log_every=5)
    est = estimate(rc, [len(e['input_ids']) for e in exs], [sum(l != -100 for l in e['labels']) for e in exs], base_mb=0)
    s = train(rc, build_model(rc), tok, exs, [], Path(tempfile.mkdtemp()), progress=False)
    out[q] = dict(tok_s=s['tokens_per_s'], peak_mb=s['peak_memory_mb'], est_mb=est.memory_mb.peak, est_err=est.memory_mb.peak/s['peak_memory_mb'] - 1)
    print(q, json.dumps(out[q]), flush=True)
print(f"RESULT lora_bf16_tok_s={out['none']['tok_s']:.0f} qlora_nf4_tok_s={out['nf4']['tok_s']:.0f} "
      f"lora_peak_gb={out['none']['peak_mb']/1024:.2f} qlora_peak_gb={out['nf4']['peak_mb']/1024:.2f} "
      f"est_err_lora={out['none']['est_err']:+.2f} est_err_qlora={out['nf4']['est_err']:+.2f}")
PY
