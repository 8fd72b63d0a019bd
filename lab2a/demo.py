"""The main job on the embedded default: what a TA's first hour with this repository looks like.

Makes a fresh demo course from this repository's nbgrader_config.py and source/, generates the
release, autogrades the sample submissions with nbgrader, writes their feedback and exports the grades,
then prints the grade table and writes the class report (`lab2a report`) to report.html. (Grading needs no
data set: the checks make their own inputs.)
"""

import csv
from pathlib import Path

from lab2a import samples
from lab2a.autograder.channels.class_report.write import write as write_class_report
from lab2a.autograder.channels.nbgrader import course as nbgrader_course
from lab2a.autograder.channels.nbgrader import parallel
from lab2a.autograder.checks.manifest import CHECKS, total_points, written_points

REPOSITORY = Path(__file__).resolve().parents[1]


def task_points(cells: dict[str, float], task: str) -> float:
    return sum(cells.get(f"test_{c.name}", 0) for c in CHECKS if c.task == task and c.points > 0)


def run(course: Path, say=print) -> dict[str, dict[str, float]]:
    say(f"demo course in {course}/ (a copy of nbgrader_config.py and source/)")

    def submit(course: Path) -> None:
        samples.write(course / "release/lab2a/lab2a.ipynb", course / "source/lab2a/lab2a.ipynb", course / "submitted")
        say(f"  {len(samples.SAMPLES)} sample submissions in {course}/submitted/<sample>/lab2a/")

    nbgrader_course.run_ta_workflow(REPOSITORY, course, submit, say, jobs=parallel.default_jobs())

    scores = nbgrader_course.cell_scores(course)
    with open(course / "grades.csv") as f:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    filter_max, train_max = total_points("filter"), total_points("train")
    say("")
    say(f"{'sample':15s}{'filter':>9s}{'train':>8s}{'total':>8s}  what it shows")
    for name, sample in samples.SAMPLES.items():
        cells = scores[name]
        filter_points, train_points = task_points(cells, "filter"), task_points(cells, "train")
        say(f"{name:15s}{filter_points:>6g}/{filter_max:<2d}{train_points:>5g}/{train_max:<2d}"
            f"{exported[name]:>5g}/{total_points():<2d} {sample.shows}")
    say(f"(+ {written_points()} points of written answers, graded by a TA in formgrader: none of the samples "
        f"answers them)")
    say("")
    say(f"feedback for students: {course}/feedback/<sample>/lab2a/lab2a.html (hidden tests removed)")
    say(f"graded notebooks:      {course}/autograded/<sample>/lab2a/lab2a.ipynb")
    say(f"grades:                {course}/grades.csv and {course}/gradebook.db")
    report = course / "report.html"
    write_class_report(course, report)
    say(f"class report:          {report} (`lab2a report {course} {report}` writes it again)")
    return scores
