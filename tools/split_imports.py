"""nbdev's docs processing executes every cell that holds an import (nbdev/processors.py `_do_eval`), so a test cell that
imports and then uses names from earlier, unexecuted test cells fails there (`nbdev_proc_nbs`). This splits each such
non-exported cell into its imports and the rest. Usage: python tools/split_imports.py nbs/*.ipynb"""
import ast
import json
import sys
import uuid
from pathlib import Path

EXPORTED = ('#| export', '#| exporti', '#| exports', '#| exec_doc')


def split(source: str):
    "(imports, rest) of a cell whose top-level statements mix imports with other code, else None"
    if any(line.strip().startswith(EXPORTED) for line in source.splitlines()) or 'nbdev_export()' in source:
        return None
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    if not imports or len(imports) == len(body):
        return None
    if any(n.col_offset for n in imports):
        return None
    lines = source.split('\n')
    if any(n.lineno == m.lineno for n in imports for m in body if m is not n):
        return None                                     # an import shares its line with other code
    taken = set()
    for node in imports:
        taken.update(range(node.lineno - 1, node.end_lineno))
    directives = [line for line in lines if line.startswith('#|')]
    head = directives + [lines[i] for i in sorted(taken)]
    rest = [line for i, line in enumerate(lines) if i not in taken]
    return '\n'.join(head), '\n'.join(rest).strip('\n')


def as_source(text: str) -> list:
    lines = text.split('\n')
    return [line + '\n' for line in lines[:-1]] + [lines[-1]]


for path in map(Path, sys.argv[1:]):
    nb = json.loads(path.read_text())
    cells = []
    for cell in nb['cells']:
        parts = split(''.join(cell['source'])) if cell['cell_type'] == 'code' else None
        if parts is None:
            cells.append(cell)
            continue
        cells.append(dict(cell, source=as_source(parts[0])))
        cells.append(dict(cell, id=uuid.uuid4().hex[:8], source=as_source(parts[1])))
    if len(cells) != len(nb['cells']):
        print(f"{path}: {len(cells) - len(nb['cells'])} cell(s) split")
        nb['cells'] = cells
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
