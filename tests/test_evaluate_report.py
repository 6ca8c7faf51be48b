"The verdict's three branches, and report.md's content on a real evaluation of a tiny run folder."
import json
from pathlib import Path
import pytest
from finetune_nb.evaluate import compare, verdict, write_report, evaluate_run, summarize

N = 40


def scores_of(finetuned:list, zero:list, few:list)->dict:
    "Per-example exact_match scores of the three systems (stopped: every answer ended)"
    return {k: dict(exact_match=[float(x) for x in v], stopped=[1.0]*len(v))
            for k, v in dict(base_zero_shot=zero, base_few_shot=few, finetuned=finetuned).items()}


def verdict_of(scores:dict)->dict:
    summary = {k: summarize(s) for k, s in scores.items()}
    return verdict(summary, compare(scores, ['exact_match', 'stopped']), 'exact_match', k=5)


def test_verdict_worse_branch():
    "Fine-tuned right on 5 of 40, the 5-shot baseline on 35: worse, by 75 points, against the better baseline"
    v = verdict_of(scores_of([1]*5 + [0]*35, [0]*N, [1]*35 + [0]*5))
    assert v['best_baseline'] == 'base_few_shot' and not v['worth_it']
    assert v['hi'] < 0 and round(100*v['diff']) == -75
    assert v['sentence'].startswith('Fine-tuning is worse than base + 5-shot by 75.0 exact_match points (95 % CI -')
    assert v['sentence'].endswith(f'n={N}): prefer prompting.')


def test_verdict_beats_and_no_gain_branches():
    better = verdict_of(scores_of([1]*35 + [0]*5, [1]*5 + [0]*35, [0]*N))
    assert better['worth_it'] and better['best_baseline'] == 'base_zero_shot' and better['lo'] > 0
    assert better['sentence'].startswith('Fine-tuning beats base + prompt by +75.0 exact_match points')
    same = verdict_of(scores_of([1, 0]*20, [0, 1]*20, [0]*N))
    assert not same['worth_it'] and same['lo'] <= 0 <= same['hi']
    assert same['sentence'].startswith('No significant gain over base + prompt on exact_match (+0.0 points')


@pytest.fixture(scope='module')
def evaluated(tmp_path_factory):
    "A tiny run folder (the data stage of configs/tiny.yaml and an untrained adapter), evaluated, its report written"
    from finetune_nb.config import load_config
    from finetune_nb.models import load_tokenizer
    from finetune_nb.audit import prepare_data
    from finetune_nb.train import build_model
    from conftest import ROOT
    cfg = load_config(ROOT/'configs'/'tiny.yaml')
    rd = tmp_path_factory.mktemp('run')
    tok = load_tokenizer(cfg.model)
    prepare_data(cfg, tok, rd)
    build_model(cfg).save_pretrained(rd/'adapter')
    ev = evaluate_run(cfg, tok, rd, progress=lambda s: None)
    return ev, rd, write_report(ev, rd).read_text()


def test_report_has_headline_table_verdict_and_examples(evaluated):
    ev, rd, text = evaluated
    lines = text.splitlines()
    assert lines[0] == '# Evaluation report'
    assert f"**{ev['verdict']['sentence']}**" in lines[:4]
    assert f"primary metric: {ev['primary']}; n = {ev['n']} held-out examples" in text
    head = next(i for i, line in enumerate(lines) if line.startswith('| system | '))
    assert lines[head + 1].startswith('|---|')
    rows = lines[head + 2:head + 2 + len(ev['summary'])]
    assert [r.split(' | ')[0] for r in rows] == ['| base + prompt', f"| base + {ev['few_shot']}-shot", '| fine-tuned']
    samples = [json.loads(line) for line in (rd/'eval_samples.jsonl').read_text().splitlines()]
    assert len(samples) == ev['n'] == 8
    assert '### Random sample' in text
    shown = [s for s in samples if f"**reference**: `{s['reference']}`" in text]
    assert len(shown) == 5
    for s in shown:
        assert f"**prompt**: `{s['prompt'][-1]['content']}`" in text
