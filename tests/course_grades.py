"""What the tests read of an nbgrader course beyond what the course's own code reads: the TA's part of the
gradebook (the written answers), and the marks of a hidden test in a feedback page."""

from pathlib import Path

from lab2a.autograder.channels.nbgrader import course as nbgrader_course

# what a hidden test cell leaves in a page when it is shown: nbgrader's markers, or its call (as written or
# escaped into HTML)
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", 'check_in_notebook("hidden_',
                  "check_in_notebook(&quot;hidden_")


def written_scores(course: Path) -> dict[str, dict[str, tuple]]:
    """{student: {answer cell grade_id: (score or None, needs manual grading)}}: the TA's part."""
    return {student: {name: (score, manual) for name, (score, manual, kind) in grades.items() if kind == "markdown"}
            for student, grades in nbgrader_course.gradebook_grades(course).items()}


def hidden_test_leaks(html: str) -> list[str]:
    """The hidden-test markers or calls found in a feedback page (none when it is safe to send)."""
    return [marker for marker in HIDDEN_MARKERS if marker in html]
