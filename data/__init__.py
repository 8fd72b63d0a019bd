"""Lab 2A's data: build the dataset, load and check it, and the best linear filter on it.

Names are imported on first use: the speech workers import lab2a.data.speech alone and must not
pay for torch (see builder.py).
"""

import importlib

PRESET_NAMES = ("course", "realistic")   # builder.PRESETS's keys, here for the command line's choices

_WHERE = {
    "PRESETS": "builder", "build": "builder", "card_path": "builder", "default_path": "builder",
    "examples_dir": "builder",
    "DatasetError": "load", "describe": "load", "load_pairs": "load",
    "apply_filter": "optimal", "filter_scores": "optimal", "optimal_filter": "optimal",
    "optimal_filters": "optimal", "course_recipe": "recipe",
    "SPLIT_SEED": "split", "split_indices": "split", "split_sizes": "split",
}
__all__ = list(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__():
    return __all__
