"The human-eval notebook driven as a rater would (clicks on its ipywidgets), resume, the terminal command, the report."
import json, os, subprocess
from pathlib import Path
import nbformat
from execnb.shell import CaptureShell
from conftest import ROOT, BIN
from finetune_nb.human_eval import human_eval_summary, comparison_pairs

def cli(*args, input_text=''):
    "The finetune-nb console script with `input_text` on stdin"
    return subprocess.run([str(BIN/'finetune-nb'), *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          input=input_text, timeout=300, env=dict(os.environ))

def evaluated_run(rd:Path, n:int=12)->Path:
    "A run folder as the evaluate stage leaves it: metrics.json, eval_samples.jsonl, report.md"
    rd.mkdir(parents=True)
    samples = [dict(prompt=[dict(role='user', content=f'ARPAbet for "w{i}"')], reference=f'W IH{i}',
                    finetuned=f'W IH{i}' if i % 3 else 'W', base_few_shot='W' if i % 3 else f'W IH{i}',
                    finetuned_exact_match=float(i % 3 > 0), base_few_shot_exact_match=float(i % 3 == 0))
               for i in range(n)]
    (rd/'eval_samples.jsonl').write_text(''.join(json.dumps(s) + '\n' for s in samples))
    ev = dict(primary='exact_match', verdict=dict(best_baseline='base_few_shot'))
    (rd/'metrics.json').write_text(json.dumps(dict(status='success', eval=ev)))
    (rd/'report.md').write_text('# Evaluation report\n\nverdict\n')
    return rd

def open_notebook(run_dir, rater):
    "Execute nbs/human_eval.ipynb in a fresh shell with its parameters set; the shell's namespace"
    nb = nbformat.read(ROOT/'nbs'/'human_eval.ipynb', as_version=4)
    sh = CaptureShell()
    for c in nb.cells:
        if c.cell_type != 'code':
            continue
        src = c.source
        if 'parameters' in c.metadata.get('tags', []):
            src += f"\nrun_dir = {str(run_dir)!r}\nrater = {rater!r}"
        sh.run(src)
        assert not sh.exc, sh.exc
    return sh.user_ns

def test_notebook_widget_records_blind_choices_and_resumes(tmp_path):
    rd = evaluated_run(tmp_path/'run')
    ns = open_notebook(rd, 'ann')
    ui = ns['ui']
    assert 'pair 1 of 12' in ui.progress.value
    assert 'finetuned' not in ui.a.value + ui.b.value + ui.progress.value   # blinded
    picks = []
    for i in range(5):
        p = ui.session.current
        ft_better = p['auto'] == 'finetuned'
        side = p['finetuned_side'] if ft_better else ('B' if p['finetuned_side'] == 'A' else 'A')
        shown = ui.a.value if side == 'A' else ui.b.value
        assert p[side] in shown
        ui.comment.value = f'comment {i}'
        ui.buttons[side].click()
        picks.append(p['key'])
    ui.buttons['tie'].click()
    recs = [json.loads(line) for line in (rd/'human_eval.jsonl').read_text().splitlines()]
    assert [r['key'] for r in recs[:5]] == picks and recs[0]['comment'] == 'comment 0'
    assert [r['preferred'] == r['auto'] for r in recs[:5]] == [True] * 5 and recs[5]['preferred'] == 'tie'
    ns = open_notebook(rd, 'ann')                  # the rater comes back later: resumes at pair 7
    assert ns['ui'].session.n_done == 6 and 'pair 7 of 12' in ns['ui'].progress.value
    assert ns['ui'].session.current['key'] not in {r['key'] for r in recs}
    assert open_notebook(rd, 'bob')['ui'].session.n_done == 0   # another rater starts from the beginning
    sm = human_eval_summary(rd)
    assert sm['n'] == 6 and sm['ties'] == 1 and sm['ci'][0] <= sm['win_rate'] <= sm['ci'][1]
    assert sm['agreement_decisive'] == 1.0
    report = (rd/'report.md').read_text()
    assert report.startswith('# Evaluation report\n\nverdict') and report.count('## Human evaluation') == 1
    assert f"{100*sm['win_rate']:.1f} % (95 % CI" in report

def test_terminal_command_shares_the_records(tmp_path):
    rd = evaluated_run(tmp_path/'run', n=4)
    r = cli('human-eval', rd, '--rater', 'ann', input_text='a\n\nq\n')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'pair 1 of 4' in r.stdout and 'A:' in r.stdout and 'B:' in r.stdout
    r = cli('human-eval', rd, '--rater', 'ann', input_text='b\nfine\nt\n\nt\n\n')
    assert r.returncode == 0, r.stderr[-2000:]
    assert '4 pairs, 1 judged already' in r.stdout and 'win rate of the fine-tuned model' in r.stdout
    assert human_eval_summary(rd)['n'] == 4
    pairs = {p['key']: p for p in comparison_pairs(rd)}
    recs = [json.loads(line) for line in (rd/'human_eval.jsonl').read_text().splitlines()]
    assert [r['choice'] for r in recs] == ['A', 'B', 'tie', 'tie'] and recs[1]['comment'] == 'fine'
    assert all(r['finetuned_side'] == pairs[r['key']]['finetuned_side'] for r in recs)
    r = cli('human-eval', tmp_path)
    assert r.returncode == 2 and 'no evaluation to rate' in r.stderr
