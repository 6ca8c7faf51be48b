"""Write README.md from nbs/index.ipynb (markdown cells as they are, code cells fenced), or --check that it matches.
nbdev_readme does this through Quarto, which can't be installed everywhere; this keeps the same single source."""
import sys, nbformat
from pathlib import Path
root = Path(__file__).resolve().parent.parent
def render():
    nb = nbformat.read(root/'nbs'/'index.ipynb', as_version=4)
    parts = []
    for c in nb.cells:
        src = c.source.strip()
        if c.cell_type == 'markdown': parts.append(src)
        elif c.cell_type == 'code' and src and not src.startswith('#| hide'):
            parts.append('```python\n' + '\n'.join(l for l in src.splitlines() if not l.startswith('#|')) + '\n```')
    return '<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->\n\n' + '\n\n'.join(parts) + '\n'
if __name__ == '__main__':
    out = render(); readme = root/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != out: sys.exit('README.md differs from nbs/index.ipynb: run python tools/readme.py')
        print('README.md matches nbs/index.ipynb')
    else: readme.write_text(out); print('wrote README.md')
