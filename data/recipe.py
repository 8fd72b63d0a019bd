"""The course's own training recipe for the filter, and what it reaches on a dataset.

The recipe (the seed version of the lab): a causal 10-tap filter with every tap at 1, SGD with
learning rate 0.005 and no momentum, `MSELoss(reduction="sum")`, batches of 16 shuffled training clips,
20 epochs, on the lab's split; scored by the per-sample test MSE. In class it ended at a test MSE
of 6.5e-8.

Its result is computed without running the network: the loss of a batch is the quadratic form
h^T R h - 2 p^T h + sum(y^2) of the clips' normal equations (optimal.clip_normal_equations), so its
gradient is 2 (R h - p) and every SGD step can be taken exactly, in float64, on 10 x 10 matrices. The
batches are the ones `DataLoader(train_set, batch_size=16, shuffle=True,
generator=torch.Generator().manual_seed(seed))` deals; the result is the training run's, up to the
network's float32 rounding (tests/test_data.py compares the two). A whole build's run takes well under
a second this way, against about 10 s of network training.
"""

import numpy as np
import torch
from torch.utils.data import DataLoader

from .optimal import _chunks, clip_normal_equations
from .split import split_indices

TAPS = 10
INITIAL_TAP = 1.0
LEARNING_RATE = 0.005
BATCH = 16
EPOCHS = 20
SHUFFLE_SEEDS = (0, 1, 2)
CLASS_TEST_MSE = 6.5e-8   # the course's own run

DESCRIPTION = (f"causal {TAPS}-tap filter, taps starting at {INITIAL_TAP:g}; SGD lr {LEARNING_RATE:g}, no momentum; "
               f"MSELoss(reduction='sum'); batch {BATCH}, shuffled; {EPOCHS} epochs; the lab's split")


def batch_orders(train_clips: int, seed: int, epochs: int = EPOCHS, batch: int = BATCH) -> list[list[int]]:
    """Positions in the training set, batch by batch, as the seeded shuffling DataLoader deals them."""
    loader = DataLoader(range(train_clips), batch_size=batch, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    return [b.tolist() for _ in range(epochs) for b in loader]


def sgd_on_quadratic(R: np.ndarray, p: np.ndarray, batches, h0: np.ndarray, lr: float) -> np.ndarray:
    """Plain SGD on sum_i (h^T R_i h - 2 p_i^T h + const) over each batch's clips i; the final taps."""
    h = np.array(h0, np.float64)
    for b in batches:
        h -= lr * 2 * (R[b].sum(0) @ h - p[b].sum(0))
    return h


def course_recipe(pairs, seeds=SHUFFLE_SEEDS) -> dict:
    """The recipe's test MSE and output SNR on the pairs' lab split, for each shuffling seed."""
    train_idx, test_idx = split_indices(len(pairs))
    R, p, energy = [], [], []
    for x, y in _chunks(pairs):
        R_clips, p_clips = clip_normal_equations(x, y, TAPS)
        R.append(R_clips)
        p.append(p_clips)
        energy.append((y ** 2).sum(1))
    R, p, energy = np.concatenate(R), np.concatenate(p), np.concatenate(energy)
    R_train, p_train = R[train_idx], p[train_idx]
    R_test, p_test = R[test_idx].sum(0), p[test_idx].sum(0)
    test_energy = energy[test_idx].sum()
    samples = len(test_idx) * pairs[0][1].shape[-1]
    runs = {}
    for seed in seeds:
        h = sgd_on_quadratic(R_train, p_train, batch_orders(len(train_idx), seed), np.full(TAPS, INITIAL_TAP),
                             LEARNING_RATE)
        mse = float((h @ R_test @ h - 2 * p_test @ h + test_energy) / samples)
        runs[str(seed)] = {"test_mse": mse, "snr_out_db": float(10 * np.log10(test_energy / samples / mse))}
    return {
        "recipe": DESCRIPTION,
        "shuffle": "DataLoader(train_set, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(seed))",
        "method": "the SGD steps taken exactly on the loss's quadratic form (per-clip normal equations, float64)",
        "test_by_shuffle_seed": runs,
        "test_mse_median": float(np.median([r["test_mse"] for r in runs.values()])),
        "class_test_mse": CLASS_TEST_MSE,
    }
