"report.md is valid markdown for any answer: rendered with markdown-it-py, its structure is checked token by token"
import json
from markdown_it import MarkdownIt
from finetune_nb.evaluate import write_report

NASTY = ['', 'two\nlines\nof text', 'a `tick` and ``two`` ticks', '`starts and ends`', 'col | col | col',
         '*not emphasis* **nor bold**', '<b>bold?</b> <script>alert(1)</script>', '# not a heading', '   ', 'K AE1 T']
SYSTEMS = ['base_zero_shot', 'base_few_shot', 'finetuned']


def _ev(n):
    summary = {k: dict(exact_match=0.5, loss=1.0, stopped=1.0) for k in SYSTEMS}
    comp = dict(exact_match=dict(diff=0.1, lo=0.0, hi=0.2))
    return dict(primary='exact_match', few_shot=5, metrics=['exact_match'], n=n, task='generation', precision='fp32',
                system_prompt='Answer with `ARPAbet` | <i>only</i> *please*\nsecond line', summary=summary,
                comparisons={'base_zero_shot': comp, 'base_few_shot': comp},
                verdict=dict(best_baseline='base_few_shot', sentence='Fine-tuning wins: worth it.'),
                by_category={'a|b': dict(n=1, base_zero_shot=0.1, base_few_shot=0.2, finetuned=0.3), '<x>': dict(n=1, base_zero_shot=0.0,
                             base_few_shot=0.0, finetuned=1.0)})


def _samples(tmp_path):
    rows = []
    for i, text in enumerate(NASTY):
        other = NASTY[(i + 3) % len(NASTY)]
        rows.append(dict(prompt=[dict(role='user', content=text)], reference=other, category='a|b',
                         base_zero_shot=text, base_few_shot=other, finetuned=text, base_zero_shot_exact_match=0.0,
                         base_few_shot_exact_match=float(i % 2), finetuned_exact_match=float((i + 1) % 2)))
    with open(tmp_path/'eval_samples.jsonl', 'w') as f:
        for r in rows:
            f.write(json.dumps(r) + '\n')
    return rows


def _shown(text):
    "What a reader must see for `text`: one line, newlines as ⏎"
    return text.replace('\n', ' ⏎ ')


def _items(tokens):
    "The inline token of each bullet list item"
    out, depth = [], 0
    for t in tokens:
        depth += t.type == 'list_item_open'
        depth -= t.type == 'list_item_close'
        if depth and t.type == 'inline':
            out.append(t)
    return out


def _without_checklist(tokens):
    "The tokens outside the `<!-- checklist -->` ... `<!-- /checklist -->` section"
    out, inside = [], False
    for t in tokens:
        marker = t.type == 'html_block' and t.content.strip() in ('<!-- checklist -->', '<!-- /checklist -->')
        if marker:
            inside = t.content.strip() == '<!-- checklist -->'
        elif not inside:
            out.append(t)
    return out


def test_report_md_renders_every_answer_verbatim(tmp_path):
    rows = _samples(tmp_path)
    text = write_report(_ev(len(rows)), tmp_path, seed=0).read_text()
    tokens = MarkdownIt('commonmark').enable('table').parse(text)
    tokens = _without_checklist(tokens)   # the scorecard section (13_checklist) has its own tests
    own_markers = ('<!-- checklist -->', '<!-- /checklist -->', '<!-- human-eval:start -->', '<!-- human-eval:end -->')
    html = [t for t in tokens if t.type == 'html_block' and t.content.strip() not in own_markers]
    assert not html, 'HTML in an answer must not become an HTML block'   # the report's own section markers aside
    inline_html = [c for t in tokens if t.type == 'inline' for c in t.children if c.type == 'html_inline']
    assert not inline_html, inline_html
    heads = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == 'heading_open']
    assert heads[0] == 'Evaluation report'
    assert heads[1] == 'exact_match by category'
    assert [h.split(' (')[0] for h in heads[2:]] == ['Biggest wins over base + 5-shot', 'Regressions against base + 5-shot',
                                                    'Random sample'], heads
    # the tables: the results table (3 systems) and the category table (2 categories), every row with all its cells
    tables, rows_cells = [], None
    for t in tokens:
        if t.type == 'table_open':
            tables.append([])
        elif t.type == 'tr_open':
            rows_cells = []
            tables[-1].append(rows_cells)
        elif t.type == 'inline' and rows_cells is not None:
            rows_cells.append(''.join(c.content for c in t.children if c.type in ('text', 'code_inline')))
        elif t.type == 'table_close':
            rows_cells = None
    assert [len(tb) for tb in tables] == [4, 3]
    assert all(len(r) == len(tables[0][0]) for r in tables[0]) and all(len(r) == 5 for r in tables[1])
    assert [r[0] for r in tables[1][1:]] == ['a|b', '<x>']
    # the system prompt: one code span with the whole prompt
    intro = [c for t in tokens if t.type == 'inline' and "system prompt" in t.content for c in t.children]
    assert [c.content for c in intro if c.type == 'code_inline'] == [_shown(_ev(1)['system_prompt'])]
    # every example: prompt, reference and three answers, each shown verbatim as one code span or as *(empty)*
    items = _items(tokens)
    assert len(items) == 5 + 5 + 5
    by_prompt = {}
    for r in rows:
        by_prompt.setdefault(_shown(r['prompt'][0]['content']), r)
    for item in items:
        labels = [item.children[i + 1].content for i, c in enumerate(item.children) if c.type == 'strong_open']
        assert labels == ['prompt', 'reference', 'base + prompt', 'base + 5-shot', 'fine-tuned'], labels
        shown = []
        for label_end in [i for i, c in enumerate(item.children) if c.type == 'strong_close']:
            nxt = [c for c in item.children[label_end + 1:label_end + 4] if c.type in ('code_inline', 'em_open')]
            assert nxt, item.content
            shown.append(nxt[0].content if nxt[0].type == 'code_inline' else '')
        r = by_prompt[shown[0]] if shown[0] else by_prompt['']
        want = [r['prompt'][0]['content'], r['reference'], r['base_zero_shot'], r['base_few_shot'], r['finetuned']]
        assert shown == [_shown(w) for w in want], (shown, want)
