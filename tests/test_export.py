"Export and use a trained tiny run as a user would: merged and GGUF exports, their check, peft, chat, the use notebook."
import argparse, io, json, os, shutil, subprocess, sys
from pathlib import Path
import pytest, torch
from conftest import ROOT, BIN, cli
from finetune_nb.config import ConfigError
from finetune_nb import export as ex

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "One tiny run, trained and evaluated by `finetune-nb run`, shared by every test here"
    runs = tmp_path_factory.mktemp('runs')
    r = cli('run', 'configs/tiny.yaml', env=dict(FINETUNE_NB_RUNS=str(runs)))
    assert r.returncode == 0, r.stderr[-3000:]
    return next(p for p in runs.iterdir() if (p/'config.yaml').exists())   # beside it: mlflow.db, mlartifacts/

def main(*argv)->int:
    "`finetune-nb export|chat ...` in this process: the CLI's own `main`"
    from finetune_nb.runs import main as cli_main
    return cli_main([str(a) for a in argv])

def plain_python(code:str)->str:
    "Run `code` in a fresh interpreter; it must not import finetune_nb or peft"
    code += "\nimport sys\nassert 'finetune_nb' not in sys.modules and 'peft' not in sys.modules, 'finetune_nb/peft'\n"
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300, cwd='/', env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout

def first_prompt(rd)->list:
    row = json.loads((rd/'data'/'eval.jsonl').read_text().splitlines()[0])
    return [m for m in row['messages'] if m['role'] != 'assistant']

LOAD_AND_ANSWER = """
import json, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
kw = {kw}
tok = AutoTokenizer.from_pretrained({path!r}, **kw)
model = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.float32, **kw)
ids = tok.apply_chat_template({conv!r}, add_generation_prompt=True, return_tensors='pt', return_dict=True)['input_ids']
out = model.generate(ids, max_new_tokens=8, do_sample=False)[0, ids.shape[1]:]
print(json.dumps(dict(text=tok.decode(out, skip_special_tokens=True).strip(), eos=tok.eos_token_id,
                      gen_eos=model.generation_config.eos_token_id, template=tok.chat_template is not None)))
"""

def reference_answer(rd, conv)->str:
    "The answer of base + adapter on the evaluation's path (fp32, greedy, 8 tokens)"
    return ex.generate(rd, [conv], max_new_tokens=8)[0]

def test_merged_export_loads_in_plain_transformers(run, capsys):
    assert main('export', run, '--format', 'merged', '--probes', 8) == 0
    out = run/'exports'/'merged'
    assert {'config.json', 'model.safetensors', 'generation_config.json', 'tokenizer.json', 'chat_template.jinja',
            'README.md', 'export_check.json'} <= {p.name for p in out.iterdir()}
    chk = json.loads((out/'export_check.json').read_text())
    assert chk['passed'] and chk['token_agreement'] == 1.0 and chk['identical'] == chk['n_probes'] == 8
    assert chk['max_logit_diff'] < 1e-4 and chk['prompt_tokens_match'] == 8
    figures = ('token_agreement', 'max_logit_diff', 'logit_error_ratio', 'export_s', 'size_mb')
    print('merged', {k: chk[k] for k in figures}, file=sys.__stderr__)
    conv = first_prompt(run)
    got = json.loads(plain_python(LOAD_AND_ANSWER.format(kw={}, path=str(out), conv=conv)))
    assert got['eos'] == got['gen_eos'] == 2 and got['template']
    assert got['text'] == reference_answer(run, conv)
    card = (out/'README.md').read_text()
    assert 'library_name: transformers' in card and '## Export check' in card and 'passed' in card

@pytest.mark.parametrize('quant', ['f16', 'q8_0'])
def test_gguf_export_loads_in_transformers(run, quant):
    assert main('export', run, '--format', 'gguf', '--quant', quant, '--probes', 8) == 0
    out = run/'exports'/f'gguf-{quant}'
    files = sorted(p.name for p in out.iterdir())
    assert files == ['README.md', 'export_check.json', f'tiny-{quant}.gguf'], files
    chk = json.loads((out/'export_check.json').read_text())
    assert chk['passed'] and chk['quant'] == quant and chk['prompt_tokens_match'] == 8
    print(quant, {k: chk[k] for k in ('token_agreement', 'identical', 'max_logit_diff', 'logit_error_ratio', 'export_s',
                                      'size_mb')}, file=sys.__stderr__)
    from gguf import GGUFReader
    f = GGUFReader(out/f'tiny-{quant}.gguf').fields
    assert f['tokenizer.ggml.eos_token_id'].contents() == 2
    assert '<|im_start|>' in f['tokenizer.chat_template'].contents()
    conv = first_prompt(run)
    code = LOAD_AND_ANSWER.format(kw=dict(gguf_file=f'tiny-{quant}.gguf'), path=str(out), conv=conv)
    got = json.loads(plain_python(code))
    assert got['eos'] == 2 and got['template']
    if chk['identical'] == chk['n_probes']:
        assert got['text'] == reference_answer(run, conv)

def test_corrupted_export_fails_the_check(run, tmp_path, capsys):
    "An export that lost the adapter (the base model's weights under the export's name) fails, with exit 1"
    good = run/'exports'/'merged'
    if not good.exists():
        assert main('export', run, '--format', 'merged', '--probes', 4) == 0
    bad = tmp_path/'bad'
    shutil.copytree(good, bad)
    from safetensors.torch import load_file, save_file
    from finetune_nb.models import tiny_folder
    base = load_file(tiny_folder()/'model.safetensors')
    save_file({k: v for k, v in base.items() if k in load_file(bad/'model.safetensors')}, bad/'model.safetensors',
              metadata={'format': 'pt'})
    assert main('export', run, '--check', bad, '--probes', 8) == 1
    chk = json.loads((bad/'export_check.json').read_text())
    assert not chk['passed'] and 'loses much of the fine-tune' in chk['reason']
    assert 'export check failed' in capsys.readouterr().err

def test_export_with_a_failing_check_leaves_nothing_at_out(run, tmp_path, monkeypatch, capsys):
    "An export that drops the adapter on the way: it exits 1, --out is not created, the rejected export is kept"
    from finetune_nb.models import load_model
    monkeypatch.setattr(ex, 'merged_model', lambda run_dir: load_model('tiny-random-llama'))
    out = tmp_path/'gguf'
    assert main('export', run, '--format', 'gguf', '--quant', 'f16', '--out', out, '--probes', 8) == 1
    assert not out.exists()
    chk = json.loads((tmp_path/'gguf.rejected'/'export_check.json').read_text())
    assert not chk['passed'] and chk['logit_error_ratio'] > 0.9
    err = capsys.readouterr().err
    assert 'finetune-nb: export check failed' in err and 'gguf.rejected' in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['gguf.rejected']    # no temporary folder left

def test_export_refusals(run, tmp_path, capsys):
    failed = tmp_path/'failed'
    shutil.copytree(run, failed, ignore=shutil.ignore_patterns('exports'))
    m = json.loads((failed/'metrics.json').read_text())
    m |= dict(status='failed', error=dict(stage='evaluate', ename='DataError', evalue='bad row'))
    (failed/'metrics.json').write_text(json.dumps(m))
    assert main('export', failed, '--format', 'merged') == 2
    err = capsys.readouterr().err
    assert err.count('finetune-nb:') == 1 and 'did not finish (status failed; error in evaluate: DataError' in err
    assert main('export', tmp_path/'nope', '--format', 'merged') == 2
    assert 'is not a run folder' in capsys.readouterr().err
    out = tmp_path/'taken'
    out.mkdir()
    assert main('export', run, '--format', 'merged', '--out', out) == 2
    assert 'already exists; pass --force' in capsys.readouterr().err
    assert main('export', run, '--format', 'merged', '--out', out, '--force', '--probes', 4) == 0
    assert (out/'model.safetensors').exists() and not list(tmp_path.glob('.taken*'))
    with pytest.raises(SystemExit):   # argparse: q4_0 is not a choice
        main('export', run, '--format', 'gguf', '--quant', 'q4_0')

def test_adapter_loads_in_plain_peft_like_the_evaluation(run):
    "Interop: the adapter folder in plain `PeftModel.from_pretrained`, greedy, equals the evaluation's path"
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from peft import PeftModel
    from finetune_nb.models import tiny_folder
    from finetune_nb.evaluate import split_example
    tok = AutoTokenizer.from_pretrained(tiny_folder())
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_folder(), dtype=torch.float32),
                                      run/'adapter').eval()
    rows = [json.loads(l) for l in (run/'data'/'eval.jsonl').read_text().splitlines()]
    convs = [split_example(r['messages'])[0] for r in rows]
    plain = []
    for conv in convs:
        enc = tok.apply_chat_template(conv, add_generation_prompt=True, return_tensors='pt', return_dict=True)
        ids = enc['input_ids']
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
        out = out[0, ids.shape[1]:]
        plain.append(tok.decode(out, skip_special_tokens=True).strip())
    assert plain == ex.generate(run, convs, max_new_tokens=8)
    ev = json.loads((run/'metrics.json').read_text())['eval']
    if ev['precision'] == 'fp32':    # the answers the evaluation recorded, where it generated in fp32 as here
        recorded = [json.loads(l) for l in (run/'eval_samples.jsonl').read_text().splitlines()]
        by_prompt = {json.dumps(c): a for c, a in zip(convs, plain)}
        assert [r['finetuned'] for r in recorded] == [by_prompt[json.dumps(r['prompt'])] for r in recorded]
    card = (run/'adapter'/'README.md').read_text()
    assert 'library_name: peft' in card and '## Evaluation' in card and 'PeftModel.from_pretrained' in card

def test_load_run_and_generate_from_the_package(run):
    import finetune_nb
    model, tok = finetune_nb.load_run(run)
    assert type(model).__name__ == 'PeftModelForCausalLM' and tok.eos_token_id == 2
    answers = finetune_nb.generate(run, ['arpabet for cat', 'arpabet for dog'], max_new_tokens=4)
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)

def test_chat_in_the_terminal(run, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'stdin', io.StringIO('arpabet for cat\n/reset\narpabet for dog\n'))
    assert main('chat', run, '--max-new-tokens', 4) == 0
    out = capsys.readouterr().out
    assert out.count('model> ') == 2 and out.count('you> ') == 4 and '(a new conversation)' in out

def test_use_notebook_runs_headless(run, tmp_path):
    r = subprocess.run([str(BIN/'papermill'), str(ROOT/'nbs'/'use.ipynb'), str(tmp_path/'use.ipynb'), '-p', 'run_dir',
                        str(run)], capture_output=True, text=True, timeout=600, cwd=ROOT/'nbs')
    assert r.returncode == 0, r.stderr[-3000:]
    import nbformat
    nb = nbformat.read(tmp_path/'use.ipynb', as_version=4)
    text = json.dumps([c.get('outputs', []) for c in nb.cells if c.cell_type == 'code'])
    assert 'you:' in text and 'model:' in text
