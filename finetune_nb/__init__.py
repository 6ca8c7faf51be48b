__version__ = "0.1.0"

_LAZY = {'load_registered': 'finetune_nb.registry'}   # `finetune_nb.load_registered(...)` without importing torch upfront


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'finetune_nb' has no attribute {name!r}")
