"""What does monitoring cost? The added latency per request of `Monitor.log`, and the report's time on 100k requests.

A run folder is made from the demo's data (the CMU dictionary, 1,000 training rows, 200 held-out; the tokenizer is
SmolLM2's, which tiny-random-llama shares), or `--run RUN` uses a real one. Measured side by side in one bench run:
- `Monitor.log` per request, as a server calls it after each answer: with the token counts left to the monitor (it
  tokenizes prompt and answer) and with the counts given, against an empty loop; mean and 99th percentile;
- the same while a second process logs into the same database at full speed (two writers);
- `finetune-nb monitor report`'s work on 100k logged requests (the last 5 % garbled, so alerts fire): `analyze` alone,
  and the whole dated report folder executed through papermill.
Targets: under 2 ms a request, and a report under 60 s. The machine is shared: compare only within one run.

Last line: RESULT log_ms=<mean> log_p99_ms=<p99> log_2writers_ms=<mean> analyze_100k_s=<s> report_100k_s=<s>.
--smoke: 300 log calls and 3,000 requests (seconds).
"""
import argparse, json, random, subprocess, sys, tempfile, textwrap, time
from dataclasses import asdict
from pathlib import Path
import numpy as np, yaml
from finetune_nb.config import load_config
from finetune_nb.data import resolve_data
from finetune_nb.monitor import Monitor, analyze, report_folder, connect

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument('--smoke', action='store_true', help='a few hundred calls and 3,000 requests')
ap.add_argument('--run', help='a run folder to monitor (default: one made from the demo data)')
ap.add_argument('--requests', type=int, default=100_000, help='requests in the report database (default 100k)')
args = ap.parse_args()
n_calls, n_requests = (300, 3000) if args.smoke else (3000, args.requests)
tmp = Path(tempfile.mkdtemp(prefix='bench_monitor_'))
rows = [json.loads(line) for line in open(resolve_data('builtin:cmudict-arpabet'))]
random.Random(0).shuffle(rows)

def demo_like(rd:Path)->Path:
    (rd/'data').mkdir(parents=True)
    (rd/'config.yaml').write_text(yaml.safe_dump(asdict(load_config(None, ['model=tiny-random-llama']))))
    (rd/'data'/'train.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows[:1000]))
    (rd/'data'/'eval.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows[1000:1200]))
    ev = dict(primary='exact_match', summary=dict(finetuned=dict(exact_match=0.5, stopped=1.0)))
    (rd/'metrics.json').write_text(json.dumps(dict(status='success', eval=ev)))
    samples = [dict(prompt=r['messages'][:-1], reference=r['messages'][-1]['content'],
                    finetuned=r['messages'][-1]['content']) for r in rows[1000:1200]]
    (rd/'eval_samples.jsonl').write_text(''.join(json.dumps(s) + '\n' for s in samples))
    return rd

run = Path(args.run) if args.run else demo_like(tmp/'run')
traffic = [(r['messages'][:-1], r['messages'][-1]['content']) for r in rows[1200:]]

def per_call_ms(fn, n:int)->np.ndarray:
    out = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out[i] = time.perf_counter() - t0
    return out * 1000

mon = Monitor(run, tmp/'log.db')
mon.log(*traffic[0])   # the tokenizer is loaded once, before timing
empty = per_call_ms(lambda i: traffic[i % len(traffic)], n_calls)
counted = per_call_ms(lambda i: mon.log(*traffic[i % len(traffic)], latency_s=0.1, stopped=True), n_calls)
given = per_call_ms(lambda i: mon.log(*traffic[i % len(traffic)], latency_s=0.1, prompt_tokens=9, answer_tokens=5,
                                      stopped=True), n_calls)
WRITER = textwrap.dedent("""
    import sys, time
    from finetune_nb.monitor import Monitor
    mon = Monitor(sys.argv[1], sys.argv[2])
    end = time.time() + float(sys.argv[3])
    while time.time() < end:
        mon.log('ARPAbet for "other"', 'AH1 DH ER0', 0.1, prompt_tokens=9, answer_tokens=5, stopped=True)
""")
other = subprocess.Popen([sys.executable, '-c', WRITER, str(run), str(tmp/'log.db'), '600'])
time.sleep(8)   # the other writer is up and logging
two = per_call_ms(lambda i: mon.log(*traffic[i % len(traffic)], latency_s=0.1, stopped=True), n_calls)
other.kill()
other.wait()
line = lambda name, ms: print(f"{name:<44} mean {ms.mean():6.3f} ms   p50 {np.median(ms):6.3f}   "
                              f"p99 {np.quantile(ms, 0.99):6.3f}")
print(f"Monitor.log, {n_calls} calls each (SQLite WAL, synchronous=NORMAL):")
line('empty loop (reference)', empty)
line('log, tokens counted by the monitor', counted)
line('log, tokens given by the caller', given)
line('log, tokens counted, a second writer process', two)
print(f"integrity: {connect(tmp/'log.db').execute('PRAGMA integrity_check').fetchone()[0]}")

db = tmp/'report.db'
rep = Monitor(run, db)
rng = random.Random(1)
t_start = time.time() - n_requests * 2.0
n_shift = n_requests // 20
data = []
for i in range(n_requests):
    p, a = traffic[i % len(traffic)]
    if i >= n_requests - n_shift:
        p = ''.join(rng.choice('qzxj#@!%&0123456789') for _ in range(rng.randint(8, 40)))
    data.append((t_start + 2 * i, json.dumps(p), a, 0.05 + 0.01 * rng.random(), 9, 5, 1, str(run)))
sql = ('INSERT INTO requests (ts, prompt, answer, latency_s, prompt_tokens, answer_tokens, stopped, source) '
       'VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
rep.con.execute('BEGIN')
rep.con.executemany(sql, data)
rep.con.execute('COMMIT')
ids = [i for (i,) in rep.con.execute('SELECT id FROM requests ORDER BY id LIMIT 2000')]
rep.con.execute('BEGIN')
rep.con.executemany('INSERT INTO feedback (request_id, ts, reference) VALUES (?, ?, ?)',
                    [(i, time.time(), traffic[(i - 1) % len(traffic)][1]) for i in ids])
rep.con.execute('COMMIT')
t0 = time.perf_counter()
res = analyze(run, db, window=1000)
t_analyze = time.perf_counter() - t0
t0 = time.perf_counter()
out, alerts = report_folder(run, db, window=1000, out_root=tmp/'reports')
t_report = time.perf_counter() - t0
print(f"\nreport on {n_requests} requests ({n_shift} garbled at the end, 2,000 with a reference), windows of 1,000:")
print(f"  analyze (read, tokenize, windows, thresholds): {t_analyze:.1f} s")
print(f"  finetune-nb monitor report's work (papermill, plots, report.md): {t_report:.1f} s   target < 60 s")
print(f"  alerts in the latest window: {[a['check'] for a in alerts['alerts']]}; report folder {out}")
print(f"RESULT log_ms={counted.mean():.3f} log_p99_ms={np.quantile(counted, 0.99):.3f} "
      f"log_given_ms={given.mean():.3f} log_2writers_ms={two.mean():.3f} "
      f"analyze_{n_requests // 1000}k_s={t_analyze:.1f} "
      f"report_{n_requests // 1000}k_s={t_report:.1f}")
