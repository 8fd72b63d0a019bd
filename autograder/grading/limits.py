"""How long and how much the student's code may take while it is graded.

Per step (a cell, or a whole check) a wall-clock timeout, then the worker is killed; per submission a budget
of 15 steps' time in all. Per worker: the confinement of sandbox/confine.py (memory, and files, network,
processes), a fresh folder, and, watched from the grader (worker_process.py), the bytes and files written
in that folder and its number of threads; the first `output` bytes of the student's prints are kept.
"""

from dataclasses import dataclass

from lab2a.autograder.sandbox import transport


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0          # seconds per step: one cell, or one check
    memory: int = 4 << 30          # bytes of address space for the worker
    startup: float = 180.0         # seconds for a worker to import torch and confine itself
    output: int = 10_000           # bytes of the student's printed output kept for the report
    disk: int = 512 << 20          # bytes the student's code may write in its folder
    files: int = 10_000            # files and folders it may make there
    threads: int = 64              # threads of the worker (read from /proc where there is one)
    total: float | None = None     # seconds for the whole submission (default: 15 steps' worth)
    max_message: int = transport.MAX_MESSAGE

    @property
    def budget(self) -> float:
        return self.total if self.total is not None else 15 * self.timeout


DEFAULT_LIMITS = Limits()
