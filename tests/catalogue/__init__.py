"""Submissions of the catalogue (tests/submissions.py) grouped by what they probe, one module each, so that
each group can grow on its own: `entries(escaped, port, victim)` returns that group's {name: Submission}
(the arguments as for submissions.catalogue)."""
