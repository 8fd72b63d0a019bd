"""Catalogue entries: marks a student writes where the grader writes its own: one student never stops a class."""

from pathlib import Path


def entries(escaped: Path, port: int, victim: Path) -> dict:
    return {}
