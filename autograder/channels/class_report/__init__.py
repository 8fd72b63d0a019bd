"""`lab2a report SOURCE OUT.html`: what a class got wrong, on one self-contained page for the TA.

load.py reads the graded results (a course folder's gradebook and autograded notebooks, or a folder of
`lab2a grade --json` reports), summary.py counts them (scores, pass rates, diagnoses with their students,
what could not be graded, the slowest, the environments), page.py writes the HTML (inline CSS, the
histogram as an embedded PNG, everything from students escaped). A TA's tool: no student kit carries it.
"""
