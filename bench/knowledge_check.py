"""False alarms and hits of the data report's knowledge-injection warning (finetune_nb.decide.knowledge_evidence).

Every data set the project uses is a format task, not knowledge injection: the demo's ARPAbet source (all of it), and
the shapes of the test suite's data (labelled reviews, a templated yes/no instruction, spelling). A flag on any of them
is a false alarm. Two factual QA sets written here (capitals and authors, as questions and as 'Name the ...'
instructions) must be flagged. Prints the share of rows that look factual and whether the set is flagged.
`--smoke` samples 2,000 ARPAbet rows instead of all 117k.
Last line: RESULT false_alarms=<n> hits=<n> factual_sets=<n>."""
import argparse, random
from finetune_nb.data import resolve_data, load_chat
from finetune_nb.decide import knowledge_evidence

def conv(p, a): return [dict(role='user', content=p), dict(role='assistant', content=a)]

def test_suite_shapes(rng):
    "The test suite's data, as its tests generate it"
    labs = ['positive', 'negative', 'neutral']
    drawn = [rng.choice(labs) for _ in range(80)]
    reviews = [conv(f'Review {i}: the {lab} words here', lab) for i, lab in enumerate(drawn)]
    words = 'apple mango zebra river stone cloud paper glass light table'.split()
    phrase = lambda: ' '.join(rng.choice(words) for _ in range(rng.randint(1, 5)))
    instr = ('Is the following phrase an idiom, a common saying that means something other than its words? Answer yes '
             'or no, in lower case and nothing else. Phrase: ')   # tests/test_audit_templated.py's
    templated = [conv(instr + phrase(), rng.choice(['yes', 'no'])) for _ in range(800)]
    spelling = [conv(f'Spell {w}', ' '.join(w)) for w in words]
    return dict(reviews=reviews, templated_yes_no=templated, spelling=spelling)

def factual_sets():
    capitals = dict(France='Paris', Japan='Tokyo', Kenya='Nairobi', Peru='Lima', Canada='Ottawa', Egypt='Cairo',
                    Norway='Oslo', Chile='Santiago', Ghana='Accra', Nepal='Kathmandu', Cuba='Havana', Iran='Tehran')
    authors = {'Middlemarch': 'George Eliot', 'Dracula': 'Bram Stoker', 'Emma': 'Jane Austen', 'Ulysses': 'James Joyce',
               'Beloved': 'Toni Morrison', 'Walden': 'Henry David Thoreau', 'Frankenstein': 'Mary Shelley'}
    qa = [conv(f'What is the capital of {c}?', a) for c, a in capitals.items()]
    qa += [conv(f'Who wrote {b}?', a) for b, a in authors.items()]
    named = [conv(f'Name the capital of {c}.', f'{a}.') for c, a in capitals.items()]
    return dict(capitals_and_authors=qa, name_the_capital=named)

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--smoke', action='store_true', help='2,000 ARPAbet rows instead of all')
    args = ap.parse_args()
    rows, _ = load_chat(resolve_data('builtin:cmudict-arpabet'))
    if args.smoke:
        rows = random.Random(0).sample(rows, 2000)
    sets = dict(arpabet=[r['messages'] for r in rows]) | test_suite_shapes(random.Random(0))
    alarms = 0
    print(f"{'data':<22} {'rows':>7} {'factual-looking':>16} flagged")
    for name, data in sets.items():
        ev = knowledge_evidence(data)
        alarms += ev['flagged']
        print(f"{name:<22} {ev['n']:>7} {ev['share']:>15.1%} {ev['flagged']}")
    hits = 0
    for name, data in factual_sets().items():
        ev = knowledge_evidence(data)
        hits += ev['flagged']
        print(f"{name:<22} {ev['n']:>7} {ev['share']:>15.1%} {ev['flagged']}  (should be flagged)")
    print(f"false alarms: {alarms} of {len(sets)} format-task sets; hits: {hits} of {len(factual_sets())} factual sets")
    print(f"RESULT false_alarms={alarms} hits={hits} factual_sets={len(factual_sets())}")

if __name__ == '__main__':
    main()
