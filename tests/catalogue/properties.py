"""Catalogue entries: properties judged from the grader's side (side effects, devices, batches moved), and honest
code those judgements must not misjudge."""

from pathlib import Path


def entries(escaped: Path, port: int, victim: Path) -> dict:
    return {}
