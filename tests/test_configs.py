"Every preset validates (torchtune's test_configs); the parameters cells name only config fields."
from pathlib import Path
import nbformat, pytest
from finetune_nb.config import load_config, FIELDS
from conftest import ROOT

@pytest.mark.parametrize('path', sorted((ROOT/'configs').glob('*.yaml')), ids=lambda p: p.name)
def test_preset_validates(path):
    cfg = load_config(path)
    assert cfg.name and cfg.data_path

def test_parameters_cell_names_are_config_fields():
    nb = nbformat.read(ROOT/'nbs'/'pipeline_prepare.ipynb', as_version=4)
    cell = next(c for c in nb.cells if 'parameters' in c.metadata.get('tags', []))
    names = [l.split(':')[0].split('=')[0].strip() for l in cell.source.splitlines() if l.strip() and not l.startswith('#')]
    assert names[:2] == ['config_file', 'run_dir'] and all(n in FIELDS for n in names[2:]), names
