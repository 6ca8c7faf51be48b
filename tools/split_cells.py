"""Split exported notebook cells of more than `--max` lines at top-level definitions, so that a cell holds one function or
class (or a few short ones). Exports, their order and the generated module do not change; only the cells do.
Usage: python tools/split_cells.py nbs/03_train.ipynb [...] [--max 30]"""
import argparse
import ast
import json
import uuid
from pathlib import Path


def statement_starts(source: str) -> list:
    "0-based line of each top-level statement, its decorators and the comment lines right above it included"
    lines = source.split('\n')
    starts = []
    for node in ast.parse(source).body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, 'decorator_list', [])]) - 1
        while first > 0 and lines[first - 1].lstrip().startswith('#') and not lines[first - 1].startswith('#|'):
            first -= 1
        starts.append(first)
    return starts


def split(source: str, limit: int) -> list:
    "The cell's source in chunks of at most `limit` lines where its top-level statements allow"
    body = source.split('\n', 1)[1] if source.startswith('#| export\n') else None
    if body is None or len([x for x in body.split('\n') if x.strip()]) <= limit:
        return [source]
    if all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.parse(body).body):
        return [source]                                 # the imports stay together
    lines = body.split('\n')
    starts = statement_starts(body) + [len(lines)]
    pieces = [lines[a:b] for a, b in zip(starts, starts[1:])]
    pieces[0] = lines[:starts[1]]                       # anything above the first statement stays with it
    chunks, current = [], []
    for piece in pieces:
        size = len([x for x in current + piece if x.strip()])
        if current and size > limit:
            chunks.append(current)
            current = []
        current = current + piece
    chunks.append(current)
    return ['#| export\n' + '\n'.join(c).strip('\n') for c in chunks]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='+')
    ap.add_argument('--max', type=int, default=30)
    args = ap.parse_args()
    for path in map(Path, args.notebooks):
        nb = json.loads(path.read_text())
        cells = []
        for cell in nb['cells']:
            source = ''.join(cell['source'])
            parts = split(source, args.max) if cell['cell_type'] == 'code' else [source]
            for i, part in enumerate(parts):
                new = dict(cell, source=[x + '\n' for x in part.split('\n')[:-1]] + [part.split('\n')[-1]])
                if i > 0:
                    new['id'] = uuid.uuid4().hex[:8]        # the first part keeps the cell's id
                cells.append(new)
        if len(cells) != len(nb['cells']):
            print(f"{path}: {len(nb['cells'])} -> {len(cells)} cells")
        nb['cells'] = cells
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')


if __name__ == '__main__':
    main()
