__version__ = "0.1.0"


def __getattr__(name):
    "`finetune_nb.load_run` and `finetune_nb.generate` (from `finetune_nb.export`), imported on first use"
    if name in ('load_run', 'generate'):
        from finetune_nb import export
        return getattr(export, name)
    raise AttributeError(f"module 'finetune_nb' has no attribute {name!r}")
