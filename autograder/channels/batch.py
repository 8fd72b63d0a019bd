"""Grading a folder of submissions in parallel (nbgrader grades one student after another): one CSV
with every check's points and the totals, a progress bar on a terminal.

A folder is either nbgrader's layout (<folder>/<student>/lab2a/lab2a.ipynb, or a renamed notebook
there) or notebooks directly inside it (<folder>/<student>.ipynb). Each submission is graded
in a process of its own, `jobs` at a time, by grade_chosen(), which runs the student's code in its sandbox.
One submission the grader fails on gets a report saying so; the others are graded all the same.
"""

import csv
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from lab2a.autograder.checks.manifest import CHECKS
from lab2a.autograder.grading.grade import grade_chosen
from lab2a.autograder.grading.limits import DEFAULT_LIMITS, Limits
from lab2a.autograder.grading.submission import Choice, choose
from lab2a.autograder.grading.terminal import progress_stream


def submissions(folder: Path) -> list[tuple[str, Choice]]:
    """(student, the notebook chosen to grade) pairs, sorted by student. In nbgrader's layout the notebook is
    chosen as `lab2a autograde` chooses it (intake.choose): lab2a.ipynb, or the one renamed notebook."""
    found = [(p.parent.name, choose(p)) for p in folder.glob("*/lab2a") if p.is_dir()]
    found += [(p.stem, Choice(p, None)) for p in folder.glob("*.ipynb") if p.is_file()]
    return sorted(found, key=lambda pair: pair[0])


def grade_class(folder: Path, out_csv: Path, jobs: int = 0, limits: Limits = DEFAULT_LIMITS,
                 progress: bool | None = None, json_dir: Path | None = None) -> dict:
    """Grade every submission under folder; write out_csv (and each report to json_dir/<student>.json);
    return {student: Report}."""
    found = submissions(folder)
    if not found:
        raise FileNotFoundError(f"no notebooks in {folder} (expected <student>/lab2a/*.ipynb or *.ipynb)")
    jobs = jobs or min(len(found), os.cpu_count() or 1)
    reports = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool, \
            tqdm(total=len(found), desc="grading", unit="notebook", file=progress_stream(),
                 disable=None if progress is None else not progress) as bar:
        futures = {pool.submit(grade_chosen, choice, folder / student / "lab2a", True, limits): student
                   for student, choice in found}
        for future in as_completed(futures):
            reports[futures[future]] = future.result()
            bar.update()
    _write_csv(out_csv, found, reports)
    if json_dir is not None:
        json_dir.mkdir(parents=True, exist_ok=True)
        for student, report in reports.items():
            (json_dir / f"{student}.json").write_text(report.to_json(), encoding="utf-8")
    return reports


def _write_csv(out_csv: Path, found, reports) -> None:
    names = [c.name for c in CHECKS]
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    partial = out_csv.with_name(out_csv.name + ".partial")
    with open(partial, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", *names, "score", "max_score"])
        for student, choice in found:
            report = reports[student]
            points = {t.name: t.score for t in report.tests}
            writer.writerow([student, str(choice.path or ""), *(points.get(n, 0) for n in names), report.score,
                             report.max_score])
    partial.replace(out_csv)
