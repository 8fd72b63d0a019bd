"""The autograder of Lab 2A: one set of checks behind every channel.

  checks/    the manifest (points, parts) and every check: what it asks the student's code, how it judges
  judge/     the float64 oracle, comparisons and diagnoses, reference training runs, verdicts
  private/   what no student may see: the hidden checks, the reference training loop, the grading key
  sandbox/   the only code loaded beside the student's: the worker, its operations, the confinement
  grading/   the grader's process: reading a notebook, running it in the sandbox, the report
  channels/  thin adapters: the notebook's test cells, nbgrader, `lab2a grade FOLDER`, GitHub, Classroom 50,
             Gradescope, pytest

Importing this package imports nothing else: the sandbox's worker imports lab2a.autograder.sandbox
only, so no grader-side module is ever in the student's process.
"""


def __getattr__(name: str):
    # `from lab2a.autograder import check_in_notebook`, as the notebook's test cells say, loads it on demand
    if name == "check_in_notebook":
        from lab2a.autograder.channels.notebook import check_in_notebook
        return check_in_notebook
    if name in ("finished", "require"):   # the lab's cells that use the student's code (channels/lab_cells.py)
        from lab2a.autograder.channels import lab_cells
        return getattr(lab_cells, name)
    raise AttributeError(f"module 'lab2a.autograder' has no attribute {name!r}")
