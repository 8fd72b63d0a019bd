"""The lab's train/test split: 1400 / 100 of 1500 clips, seeded, the same everywhere.

The notebook calls `torch.utils.data.random_split(ds, split_sizes(len(ds)), generator=
torch.Generator().manual_seed(SPLIT_SEED))`; `split_indices` gives the same indices without a
dataset, for the data card and the grader.
"""

import torch

SPLIT_SEED = 0


def split_sizes(clips: int) -> list[int]:
    """[train, test]: one clip in fifteen for testing (100 of 1500), at least one of each."""
    if clips < 2:
        raise ValueError(f"a split needs at least 2 clips, got {clips}")
    test = max(1, clips // 15)
    return [clips - test, test]


def split_indices(clips: int, seed: int = SPLIT_SEED) -> tuple[list[int], list[int]]:
    """The indices random_split(..., generator=Generator().manual_seed(seed)) puts in train and test."""
    train, _ = split_sizes(clips)
    order = torch.randperm(clips, generator=torch.Generator().manual_seed(seed)).tolist()
    return order[:train], order[train:]
