"""Lab 2A's data: build the dataset, load and check it, and the best linear filter on it."""

from .builder import PRESETS, build, card_path, default_path, examples_dir
from .load import DatasetError, describe, load_pairs
from .optimal import apply_filter, filter_scores, optimal_filter, optimal_filters
from .split import SPLIT_SEED, split_indices, split_sizes

__all__ = [
    "PRESETS", "build", "card_path", "default_path", "examples_dir",
    "DatasetError", "describe", "load_pairs",
    "apply_filter", "filter_scores", "optimal_filter", "optimal_filters",
    "SPLIT_SEED", "split_indices", "split_sizes",
]
