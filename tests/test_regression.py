"Pinned-loss regression (torchtune's test_loss) and adapter interop with plain peft."
import math, tempfile
from pathlib import Path
import pytest, torch
from finetune_nb.config import RunConfig
from finetune_nb.models import load_tokenizer, load_model
from finetune_nb.data import tokenize_chat
from finetune_nb.train import build_model, train
from finetune_nb.evaluate import generate

@pytest.fixture(scope='module')
def tok(): return load_tokenizer('tiny-random-llama')

def _exs(tok):
    words = 'apple banana cherry grape lemon mango olive peach plum kiwi'.split()
    return [tokenize_chat(tok, [{'role': 'user', 'content': f'Spell {w}'}, {'role': 'assistant', 'content': ' '.join(w.upper())}]) for w in words*2]

def test_pinned_loss(tok, tmp_path):
    cfg = RunConfig(model='tiny-random-llama', method='full', max_steps=6, batch_size=4, lr=3e-3, log_every=1, precision='fp32')
    s = train(cfg, build_model(cfg), tok, _exs(tok), _exs(tok)[:4], tmp_path, progress=False)
    # fp32 on CPU, seed 0: losses pinned when this test was written (re-pinned when batches became random for evenly sized examples);
    # a change means the loss, data order or init moved
    assert s['loss_first'] == pytest.approx(10.6979, abs=2e-3)
    assert s['loss_last'] == pytest.approx(9.6211, abs=2e-2)

@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_adapter_loads_in_plain_peft(tok, tmp_path, precision):
    "The saved adapter, loaded with plain transformers + peft, generates exactly what finetune_nb generated"
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    from finetune_nb.models import tiny_folder
    cfg = RunConfig(model='tiny-random-llama', max_steps=3, batch_size=4, lr=5e-2, precision='fp32')
    m = build_model(cfg); train(cfg, m, tok, _exs(tok), [], tmp_path, progress=False)
    convs = [[{'role': 'user', 'content': f'Spell {w}'}] for w in ('apple', 'mango', 'zebra')]
    ours = generate(m, tok, convs, max_new_tokens=10, precision=precision, share_prefix=precision == 'fp32')  # bf16 rounding depends on shapes
    plain = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_folder()), tmp_path/'adapter').eval()
    tok.padding_side = 'left'
    ids = tok([tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in convs], return_tensors='pt', padding=True, add_special_tokens=False)
    tok.padding_side = 'right'
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=precision == 'bf16'):
        out = plain.generate(**ids, max_new_tokens=10, do_sample=False, pad_token_id=tok.pad_token_id)
    theirs = [tok.decode(o[ids['input_ids'].shape[1]:], skip_special_tokens=True).strip() for o in out]
    assert [o['text'] for o in ours] == theirs
    base = generate(AutoModelForCausalLM.from_pretrained(tiny_folder()), tok, convs, max_new_tokens=10, precision=precision)
    assert base != ours  # the adapter changed what the model says

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_qlora_nf4_on_cuda(tok, tmp_path):
    cfg = RunConfig(model='tiny-random-llama', quantize='nf4', max_steps=2, batch_size=4)
    s = train(cfg, build_model(cfg), tok, _exs(tok), _exs(tok)[:4], tmp_path, progress=False)
    assert math.isfinite(s['loss_last'])

def test_qlora_nf4_on_cpu(tok, tmp_path):
    cfg = RunConfig(model='tiny-random-llama', quantize='nf4', max_steps=2, batch_size=4, precision='fp32')
    s = train(cfg, build_model(cfg), tok, _exs(tok), _exs(tok)[:4], tmp_path, progress=False)
    assert math.isfinite(s['loss_last']) and (tmp_path/'adapter'/'adapter_model.safetensors').exists()
