"""lab2a bench's parts (the full run takes minutes and belongs on an idle machine, not in the suite)."""

import pytest
import torch

from lab2a import bench


def test_the_compared_convolutions_compute_the_same_filter():
    torch.manual_seed(0)
    x, h = torch.randn(2, 1, 300), torch.randn(81)
    from solutions import ConvolutionalFilter
    reference = ConvolutionalFilter(81)
    with torch.no_grad():
        reference.filter.copy_(h)
    fft, loop = bench._fft_convolution(x, h), bench._per_tap_loop(x, h)
    scale = h.abs().sum() * x.abs().max()
    assert (reference(x) - fft).abs().max() < 1e-5 * scale
    assert (loop - fft).abs().max() < 1e-5 * scale


@pytest.mark.slow
def test_filter_timings_are_measured():
    timings = bench.filter_timings(iterations=2)
    assert set(timings) == {"reference", "fft", "per_tap_loop"} and all(t > 0 for t in timings.values())


def test_table_marks_each_bound():
    results = {key: bound / 2 for key, (bound, _) in bench.BOUNDS.items()}
    results |= {key: floor * 2 for key, (floor, _) in bench.FLOORS.items()}
    results["naive_loop_vs_fft"] = 10.0
    results["grade_seconds"] = 25.0   # over its bound of 8
    results["class_autograde_speedup_jobs2"] = 1.5   # under its floor of 1.8
    lines = bench.table(results).splitlines()
    assert len(lines) == len(bench.BOUNDS) + len(bench.FLOORS) + 2
    assert [line.split()[0] for line in lines if " NO " in line] == ["grade_seconds", "class_autograde_speedup_jobs2"]


def test_table_shows_only_what_was_measured():
    lines = bench.table({"grade_seconds": 5.0}).splitlines()
    assert len(lines) == 2 and lines[1].split()[:2] == ["grade_seconds", "5"]


def test_the_mixed_class_is_drawn_from_the_catalogue():
    from pathlib import Path

    from . import submissions
    catalogue = submissions.catalogue(Path("/nonexistent"), 9, Path("/nonexistent"))
    assert set(bench.MIXED_CLASS) <= set(catalogue) and len(set(bench.MIXED_CLASS)) == len(bench.MIXED_CLASS) == 32
    kinds = [catalogue[name].expected == submissions.FULL for name in bench.MIXED_CLASS]
    assert 0 < sum(kinds) < len(kinds)   # honest notebooks beside ones that lose points
