__version__ = "0.1.0"

# `finetune_nb.load_run(...)` and friends without importing torch when the package is imported
_LAZY = {'load_run': 'finetune_nb.export', 'generate': 'finetune_nb.export', 'load_registered': 'finetune_nb.registry'}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'finetune_nb' has no attribute {name!r}")
