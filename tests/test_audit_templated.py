"The data gate on templated tasks (issue #14): near duplicates and leakage measured on what varies, planted and scored."
import importlib.util, json, random
from pathlib import Path
import pytest
from finetune_nb.config import RunConfig
from finetune_nb.models import load_tokenizer
from finetune_nb.audit import prepare_data

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location('data_prep', ROOT/'bench'/'data_prep.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def bench(): return _bench()


@pytest.fixture(scope='module')
def tok(): return load_tokenizer('tiny-random-llama')


def _gate(bench, s, tok, d):
    "The gate with the eval file, scored against what was planted, and the split of the training file alone"
    tr, ev = bench._write(d/'train.jsonl', s['train']), bench._write(d/'eval.jsonl', s['eval'])
    rep = prepare_data(RunConfig(model='tiny-random-llama', data_path=tr, eval_path=ev, max_reject_frac=1.0), tok)
    split = prepare_data(RunConfig(model='tiny-random-llama', data_path=tr, max_reject_frac=1.0), tok)
    return rep, bench.score(rep.to_dict(), s), split


def test_planted_templated_set(bench, tok, tmp_path):
    "The bench's planted benchmark at a third of its size: pairs and copies found, nothing else flagged"
    s = bench.templated_set(n=700, n_pairs=20, n_eval=120, n_leaks=8, seed=1)
    rep, r, split = _gate(bench, s, tok, tmp_path)
    assert r['nd_recall'] >= 0.95 and r['fp_share'] <= 0.01 and r['largest_cluster'] == 2, r
    assert r['leak_recall'] >= 0.95 and r['false_leaks'] == 0, r
    assert rep.sections['shared']['phrases'][0] == dict(role='user', text=bench.INSTR.strip().rstrip(':'), share=1.0)
    pairs = rep.sections['leakage']['pairs']
    assert len(pairs) == 8 and all(p['eval_text'].startswith('… ') and p['train_text'].startswith('… ') for p in pairs)
    assert '| eval line | eval row | train line | train row | similarity |' in rep._repr_markdown_()
    sp = split.sections
    assert sp['leakage']['exact'] + sp['leakage']['near'] == 0 and max(sp['duplicates']['cluster_sizes']) == 2
    assert sp['split']['field'] == 'answer label' and sp['split']['max_gap'] <= 0.02, sp['split']
    assert set(sp['split']['shares']) == {'animal', 'object', 'place', 'idea'}


def test_planted_demo_data(bench, tok, tmp_path):
    "The same protocol on the demo's data: its fixed prefix is left out, and few rows that weren't planted are flagged"
    s = bench.demo_set(n=700, n_pairs=20, n_eval=120, n_leaks=8, seed=1)
    rep, r, split = _gate(bench, s, tok, tmp_path)
    assert r['fp_share'] <= 0.01 and r['largest_cluster'] == 2 and r['leak_recall'] >= 0.95, r
    assert rep.sections['shared']['phrases'][0] == dict(role='user', text='ARPAbet for', share=1.0)
    assert split.sections['split']['field'] is None   # the answers are phones, not labels


def _rows(rng, words, n, instr):
    "`n` rows of `instr` and a phrase of 1-5 words from `words`, answered yes or no"
    phrase = lambda: ' '.join(rng.choice(words) for _ in range(rng.randint(1, 5)))
    return [{'messages': [{'role': 'user', 'content': instr + phrase()},
                          {'role': 'assistant', 'content': rng.choice(['yes', 'no'])}]} for _ in range(n)]


def test_data_report_on_a_templated_file_says_what_it_left_out_and_raises_no_false_alarm(bench, tmp_path):
    "The issue's case: 800 train and 300 eval rows of one 25-word instruction and a phrase of a few words; no leaks"
    from conftest import cli
    rng, words = random.Random(2), bench.word_list()
    instr = ('Is the following phrase an idiom, a common saying that means something other than its words? Answer yes '
             'or no, in lower case and nothing else. Phrase: ')
    rows = list({json.dumps(r): r for r in _rows(rng, words, 1150, instr)}.values())[:1100]
    (tmp_path/'train.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows[:800]))
    (tmp_path/'eval.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows[800:]))
    r = cli('data-report', tmp_path/'train.jsonl', '-p', 'model=tiny-random-llama',
            '-p', f"eval_path={tmp_path/'eval.jsonl'}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "compared after removing the user text shared by 100% of rows: 'Is the following phrase an idiom" in r.stdout
    assert 'ERROR' not in r.stdout and '0 eval rows exactly and 0 nearly in train' in r.stdout, r.stdout
    assert '| duplicates | 0 near-duplicate rows in 0 clusters' in r.stdout, r.stdout
