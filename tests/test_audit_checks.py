"The data audit's format and diversity checks fire on data that should trip them, and stay quiet on clean data."
from finetune_nb.audit import QualityReport, check_format, check_diversity


def rows_of(pairs:list)->list:
    "Audit rows (1-based `line`) from (prompt, answer) pairs"
    return [dict(line=i + 1, messages=[{'role': 'user', 'content': q}, {'role': 'assistant', 'content': a}])
            for i, (q, a) in enumerate(pairs)]


def flags(check, rows)->list:
    rep = QualityReport()
    check(rep, rows)
    return [(f['severity'], f['message']) for f in rep.flags]


def varied(n:int)->list:
    "n prompts that differ from their first word on, with plain short answers"
    topics = 'rivers mountains deserts forests oceans glaciers volcanoes islands canyons valleys lakes caves'.split()
    verbs = 'Describe Explain Compare List Summarize Classify'.split()
    return [(f"{verbs[i % 6]} {i} facts about {topics[i % 12]} near town {i*7}", f"answer {i}") for i in range(n)]


def test_check_format_quiet_on_plain_answers():
    assert flags(check_format, rows_of(varied(40))) == []


def test_check_format_fires_on_broken_json():
    pairs = [(f'q{i}', '{"label": "a"' if i < 8 else '{"label": "b"}') for i in range(10)]
    assert flags(check_format, rows_of(pairs)) == [('warning', "8 of 10 JSON-looking answers don't parse")]


def test_check_format_fires_on_mixed_formats():
    pairs = [(f'q{i}', '{"label": "a"}' if i < 4 else 'label a') for i in range(20)]
    expected = [('warning', "answers mix formats: 20% look like JSON, the rest don't")]
    assert flags(check_format, rows_of(pairs)) == expected


def test_check_format_fires_on_refusals():
    pairs = [(f'q{i}', "I'm sorry, but I can't help with that." if i < 3 else f'answer {i}') for i in range(20)]
    (sev, msg), = flags(check_format, rows_of(pairs))
    assert sev == 'warning' and msg.startswith('15.0% of answers are refusals (lines [1, 2, 3] …)')


def test_check_diversity_quiet_on_varied_prompts():
    rep = QualityReport()
    check_diversity(rep, rows_of(varied(40)))
    assert rep.flags == [] and rep.sections['diversity']['top_k_prompt_share'] == 0.25


def test_check_diversity_fires_on_repeated_prompts_and_one_template():
    pairs = [('What is the capital of France?', f'Paris {i}') for i in range(30)]
    got = flags(check_diversity, rows_of(pairs))
    assert got[0] == ('warning', 'the 10 most common prompts make up 100% of the rows')
    assert got[1][0] == 'info' and got[1][1].startswith('100% of prompts follow one template')
    assert len(got) == 2
