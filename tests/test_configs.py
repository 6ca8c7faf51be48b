"Every preset validates (torchtune's test_configs); the parameters cells name only config fields."
from pathlib import Path
import nbformat, pytest
from finetune_nb.config import load_config, FIELDS
from conftest import ROOT

@pytest.mark.parametrize('path', sorted((ROOT/'configs').glob('*.yaml')), ids=lambda p: p.name)
def test_preset_validates(path, tmp_path):
    "Every key the preset sets reaches the config with its value, and the config survives a save and reload"
    import yaml
    from finetune_nb.config import save_config
    cfg = load_config(path)
    preset = yaml.safe_load(path.read_text())
    assert {k: getattr(cfg, k) for k in preset} == preset
    save_config(cfg, tmp_path/'config.yaml')
    assert load_config(tmp_path/'config.yaml') == cfg

def test_parameters_cell_names_are_config_fields():
    nb = nbformat.read(ROOT/'nbs'/'pipeline_prepare.ipynb', as_version=4)
    cell = next(c for c in nb.cells if 'parameters' in c.metadata.get('tags', []))
    lines = [line for line in cell.source.splitlines() if line.strip() and not line.startswith('#')]
    names = [line.split(':')[0].split('=')[0].strip() for line in lines]
    assert names[:2] == ['config_file', 'run_dir'] and all(n in FIELDS for n in names[2:]), names
