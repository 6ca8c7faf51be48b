"The data stage's quality gate: every kind of bad row is quarantined with its line and reason; a bad dataset is flagged."
import json
from pathlib import Path
import pytest
from finetune_nb.config import RunConfig
from finetune_nb.models import load_tokenizer
from finetune_nb.data import read_jsonl, tokenize_chat
from finetune_nb.audit import prepare_data
from finetune_nb.train import build_model, train

@pytest.fixture(scope='module')
def tok(): return load_tokenizer('tiny-random-llama')

def conv(q, a): return [{'role': 'user', 'content': q}, {'role': 'assistant', 'content': a}]
def row(q, a, **kw): return json.dumps({'messages': conv(q, a)} | kw)

BAD = [  # (raw line, expected reason prefix)
    (b'{"messages": [', 'invalid JSON'),
    (b'\xff\xfe{"messages": []}', 'not valid UTF-8'),
    (b'[1, 2, 3]', 'row is a list, not an object'),
    (b'{"msgs": []}', "missing field 'messages'"),
    (b'{"messages": "hello"}', "'messages' must be a non-empty list"),
    (b'{"messages": ["hello"]}', 'messages[0] is not an object'),
    (b'{"messages": [{"content": "hi"}]}', "messages[0] has no 'role'"),
    (b'{"messages": [{"role": "bot", "content": "hi"}]}', "messages[0] has unknown role 'bot'"),
    (b'{"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "x"}]}', 'messages[0].content is a int, not a string'),
    (b'{"messages": [{"role": "user", "content": "   "}, {"role": "assistant", "content": "x"}]}', 'messages[0].content is empty or whitespace'),
    (b'{"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}', 'messages[1] is a system message after the first turn'),
    (b'{"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a"}]}', 'turns must alternate'),
    (b'{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]}', 'no assistant turn'),
    (b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "more?"}]}', 'ends with a user turn'),
    (b'{"messages": [{"role": "user", "content": "broken \xef\xbf\xbd text"}, {"role": "assistant", "content": "a"}]}', 'messages[0].content has undecodable characters'),
    (row('long ' * 400, 'x').encode(), 'too long: '),
    (row('question number 0 about apples', 'answer 0').encode(), 'exact duplicate of line 1'),
]

def test_every_kind_of_bad_row_is_quarantined_with_line_and_reason(tok, tmp_path):
    good = [row(f'question number {i} about apples', f'answer {i}').encode() for i in range(60)]
    lines, expect = good[:1], {}
    for i, (raw, why) in enumerate(BAD):
        lines.append(raw); expect[len(lines)] = why
        lines += good[1 + 3*i: 4 + 3*i]
    lines += good[1 + 3*len(BAD):]
    data = tmp_path/'bad.jsonl'; data.write_bytes(b'\n'.join(lines) + b'\n')
    cfg = RunConfig(model='tiny-random-llama', data_path=str(data), max_len=256, max_reject_frac=0.5, max_steps=2, batch_size=4)
    rep = prepare_data(cfg, tok, tmp_path/'run')
    rej = {r['line']: r for r in read_jsonl(tmp_path/'run'/'rejected.jsonl')}
    assert len(BAD) >= 12 and set(rej) == set(expect)
    for line, why in expect.items():
        assert rej[line]['reason'].startswith(why), (line, rej[line]['reason'], why)
        assert rej[line]['source'] == str(data) and rej[line]['raw']
    assert rep.sections['n_rejected'] == len(BAD) and rep.sections['n_train'] + rep.sections['n_eval'] == 60
    tr = [tokenize_chat(tok, r['messages']) for r in read_jsonl(tmp_path/'run'/'data'/'train.jsonl')]
    s = train(cfg, build_model(cfg), tok, tr, [], tmp_path/'run', progress=False)   # the good rows train
    assert s['steps'] == 2 and (tmp_path/'run'/'adapter'/'adapter_model.safetensors').exists()

def test_bad_dataset_is_flagged_for_exactly_what_is_wrong(tok, tmp_path):
    "Too small, near-duplicated, leaked into the eval file, 95 % one category"
    rows = []
    for i in range(60):
        q = f'Please describe in a few words the main properties of item number {i} from the spring catalogue of our small shop in town'
        rows.append(row(q, f'Item {i} is a sturdy wooden thing that many customers like very much', category='tools' if i % 20 else 'toys'))
    for i in range(0, 20, 2):   # near duplicates: one word changed
        rows.append(row(f'Please describe in a few words the main properties of item number {i} from the spring catalogue of our small shop in the town',
                        f'Item {i} is a sturdy wooden thing that many customers like very much', category='tools'))
    data = tmp_path/'train.jsonl'; data.write_text('\n'.join(rows) + '\n')
    ev = tmp_path/'eval.jsonl'; ev.write_text('\n'.join(rows[:5] + [row('What colour is the sky on a clear day?', 'Blue.', category='tools')]) + '\n')
    rep = prepare_data(RunConfig(model='tiny-random-llama', data_path=str(data), eval_path=str(ev), max_reject_frac=1.0), tok)
    flags = {f['check']: f for f in rep.flags if f['severity'] != 'info'}
    assert set(flags) == {'volume', 'duplicates', 'leakage', 'balance'}, rep.flags   # (plus an info note: one prompt template)
    assert 'anti-pattern' in flags['volume']['message'] and flags['volume']['severity'] == 'error'
    assert rep.sections['duplicates']['near_duplicate_rows'] >= 8 and flags['duplicates']['severity'] == 'warning'
    assert rep.sections['leakage']['exact'] == 5 and flags['leakage']['severity'] == 'error'
    assert rep.sections['balance']['top'] == 'tools' and rep.sections['balance']['top_share'] >= 0.9

def test_clean_dataset_has_no_warnings(tok, tmp_path):
    import random
    rng = random.Random(0); words = 'alpha beta gamma delta omega sigma kappa lambda theta zeta'.split()
    rows = [row(' '.join(rng.choice(words) for _ in range(12)) + f' {i}?', ' '.join(rng.choice(words) for _ in range(8)), category=rng.choice('ab'))
            for i in range(600)]
    data = tmp_path/'ok.jsonl'; data.write_text('\n'.join(rows) + '\n')
    rep = prepare_data(RunConfig(model='tiny-random-llama', data_path=str(data)), tok, tmp_path/'run')
    assert [f for f in rep.flags if f['severity'] != 'info'] == []
    assert json.loads((tmp_path/'run'/'data_report.json').read_text())['volume']['status'] == 'healthy'

def test_data_report_cli(tmp_path):
    from conftest import cli
    data = tmp_path/'d.jsonl'; data.write_text('\n'.join(row(f'q {i}', 'a') for i in range(30)) + '\n{"oops"\n')
    r = cli('data-report', data, '-p', 'model=tiny-random-llama')
    assert r.returncode == 0, r.stderr[-2000:]
    assert '30 train' not in r.stdout and 'quarantined' in r.stdout and 'anti-pattern' in r.stdout
    r = cli('data-report', data, '-p', 'model=tiny-random-llama', '--json')
    assert json.loads(r.stdout)['rejected']['reasons'] == {'invalid JSON': 1}

LIGHT_CHECK = """
import atexit, sys
heavy = ('scipy', 'torch', 'finetune_nb.evaluate', 'finetune_nb.train', 'finetune_nb.models')
atexit.register(lambda: print('IMPORTED', ','.join(m for m in heavy if sys.modules.get(m) is not None)))
{body}
"""

def _imported(body, *args):
    "Stdout, and the heavy modules a fresh interpreter has imported, after running `body`"
    import subprocess, sys
    r = subprocess.run([sys.executable, '-c', LIGHT_CHECK.format(body=body), *map(str, args)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout, [m for m in r.stdout.rsplit('IMPORTED ', 1)[1].strip().split(',') if m]

def test_data_report_runs_without_the_evaluation_and_training_modules(tmp_path):
    "`finetune-nb data-report` is the audit alone: it works with evaluate and train made unimportable"
    data = tmp_path/'d.jsonl'
    data.write_text('\n'.join(row(f'question number {i} about apples', f'answer {i % 3}') for i in range(40)) + '\n')
    body = ("sys.modules['finetune_nb.evaluate'] = sys.modules['finetune_nb.train'] = None   # importing them fails\n"
            "from finetune_nb.runs import main\n"
            "sys.exit(main(['data-report', sys.argv[1], '-p', 'model=tiny-random-llama']))")
    out, imported = _imported(body, data)
    assert '37 train / 3 eval' in out and '| balance | 3 values of answer label' in out, out[:1500]   # labels ran
    assert 'finetune_nb.evaluate' not in imported and 'finetune_nb.train' not in imported

def test_cli_config_and_audit_modules_import_no_torch_scipy_or_evaluation():
    "Importing the CLI, config, data, audit and answers modules pulls in none of torch, scipy, models or evaluate"
    _, imported = _imported("import finetune_nb.runs, finetune_nb.config, finetune_nb.data, finetune_nb.audit, "
                            "finetune_nb.answers")
    assert imported == [], imported
