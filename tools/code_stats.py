"""Readability figures of the library, as in issue #19's table: long lines, `;` statements, cell sizes and how often an
exported cell is followed by a test within three cells. Usage: python tools/code_stats.py [--fn MODULE.FUNCTION ...]"""
import argparse
import ast
import inspect
import importlib
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_files():
    "The generated package's modules, without nbdev's symbol index `_modidx.py`"
    return [p for p in sorted((ROOT/'finetune_nb').glob('*.py')) if p.name != '_modidx.py']


def package_lines():
    "Every line of the generated package, with its file"
    for path in package_files():
        for line in path.read_text().splitlines():
            yield path.name, line


def semicolon_statements():
    "Count the statements that share a line with another one, from the syntax tree (strings can hold `;`)"
    count = 0
    for path in package_files():
        tree = ast.parse(path.read_text())
        seen = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.stmt):
                seen.setdefault(node.lineno, []).append(node)
        for nodes in seen.values():
            starts = {n.col_offset for n in nodes}
            count += len(starts) - 1
    return count


def library_notebooks():
    return [p for p in sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))]


def is_export(src):
    return any(line.strip().startswith('#| export') for line in src.splitlines())


def is_test(src):
    code = [line for line in src.splitlines() if line.strip() and not line.strip().startswith('#')]
    return any('assert' in line or 'test_' in line for line in code)


def cell_figures():
    sizes, export_sizes, largest = [], [], (0, '')
    followed, exports = 0, 0
    for nb in library_notebooks():
        cells = [c for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        sources = [''.join(c['source']) for c in cells]
        for i, src in enumerate(sources):
            n = len([line for line in src.splitlines() if line.strip()])
            sizes.append(n)
            if n > largest[0]:
                largest = (n, f'{nb.name} code cell {i}')
            if is_export(src):
                export_sizes.append(n)
                exports += 1
                if any(is_test(s) for s in sources[i+1:i+4]):
                    followed += 1
    return dict(median_cell=statistics.median(sizes), median_export_cell=statistics.median(export_sizes),
                largest_cell=largest, export_then_test=followed/exports)


def function_lines(dotted):
    module, name = dotted.rsplit('.', 1)
    fn = getattr(importlib.import_module(module), name)
    return len(inspect.getsourcelines(fn)[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--fn', nargs='*', default=['finetune_nb.train.train'])
    args = ap.parse_args()
    lines = list(package_lines())
    long = [(f, line) for f, line in lines if len(line) > 120]
    cells = cell_figures()
    print(f"lines in finetune_nb/            {len(lines)}")
    print(f"lines over 120 characters        {len(long)}")
    print(f"statements sharing a line (;)    {semicolon_statements()}")
    print(f"longest line                     {max(len(line) for _, line in lines)}")
    print(f"median code cell (lines)         {cells['median_cell']}")
    print(f"median export cell (lines)       {cells['median_export_cell']}")
    print(f"export followed by a test (<=3)  {cells['export_then_test']:.0%}")
    print(f"largest cell                     {cells['largest_cell'][0]} lines ({cells['largest_cell'][1]})")
    for dotted in args.fn:
        print(f"{dotted:<33}{function_lines(dotted)} lines")


if __name__ == '__main__':
    main()
