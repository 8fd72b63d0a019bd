"""pytest as a grading interface: `pytest --lab2a-notebook NB` runs one test item per check of NB.

The notebook is graded once, at collection, by the same grader as `lab2a check` (`--lab2a-checks all`:
every check, as `lab2a grade`, where the hidden ones are present). Each item passes, fails with the
check's message, or is skipped (a 0-point check that could not run, e.g. no GPU); its points are recorded
as junit-XML properties `points` and `max_points` (`--junitxml`), as course CI tools read them. Each
written answer is an item too, always skipped ("graded by a TA"), with `max_points` and `graded_by`
but no `points`: neither passed nor 0. A check
with partial credit fails, with its points. The package registers the plugin (entry point pytest11); a
copy that is not installed loads it with `-p lab2a.autograder.channels.pytest_plugin` or a conftest.py.
"""

from pathlib import Path

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("lab2a", "Lab 2A grading")
    group.addoption("--lab2a-notebook", metavar="NB", default=None,
                    help="grade this notebook (or a folder holding it): one test item per check")
    group.addoption("--lab2a-checks", choices=("visible", "all"), default="visible",
                    help="visible (default, as `lab2a check`) or all checks, hidden ones included (as `lab2a grade`)")


class CheckFailed(Exception):
    """A check that did not earn every point; its message is the report."""


class Notebook(pytest.File):
    def collect(self):
        from lab2a.autograder.grading.fork_server import start_early
        from lab2a.autograder.grading.grade import grade_submission
        from lab2a.autograder.grading.report import written

        start_early()
        hidden = self.config.getoption("lab2a_checks") == "all"
        report = grade_submission(self.path, hidden=hidden)
        self.config.stash[REPORT] = report
        for test in report.tests:
            yield CheckItem.from_parent(self, name=test.name, test=test)
        for answer in written():
            yield WrittenAnswer.from_parent(self, name=answer["name"], answer=answer)


class CheckItem(pytest.Item):
    """One check of the grade, as a pytest test: it passes with every point (a 0-point check unless skipped),
    is skipped where the check was (no GPU), and fails otherwise."""

    def __init__(self, *, test, **kwargs):
        super().__init__(**kwargs)
        self.test = test
        self.user_properties += [("points", test.score), ("max_points", test.max_score)]

    def runtest(self):
        t = self.test
        if t.status == "skipped":
            pytest.skip(t.message)
        if t.status != "pass" and t.max_score > 0:
            raise CheckFailed(f"{t.name}: {t.score} / {t.max_score} points ({t.status})\n{t.message}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.name} ({self.test.task}, {self.test.max_score} points)"


class WrittenAnswer(pytest.Item):
    """A written answer: skipped here, never passed or failed; a TA grades it."""

    def __init__(self, *, answer, **kwargs):
        super().__init__(**kwargs)
        self.answer = answer
        self.user_properties += [("graded_by", "TA"), ("max_points", answer["max_score"])]   # no points here

    def runtest(self):
        pytest.skip(f"graded by a TA ({self.answer['max_score']} points): {self.answer['question']}")

    def reportinfo(self):
        return self.path, None, f"{self.name} (written answer, {self.answer['max_score']} points, graded by a TA)"


REPORT = pytest.StashKey()


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session):
    """With --lab2a-notebook, the checks are the only items (no test files are collected)."""
    where = session.config.getoption("lab2a_notebook")
    if not where:
        return None
    notebook = Notebook.from_parent(session, path=Path(where).resolve())
    items = list(notebook.collect())
    # reported as collected (the terminal's "collected N items" counts the reports, not session.items)
    session.config.hook.pytest_collectreport(report=pytest.CollectReport(notebook.nodeid, "passed", None, items))
    session.config.hook.pytest_collection_modifyitems(session=session, config=session.config, items=items)
    session.items = items
    session.testscollected = len(items)
    session.config.hook.pytest_collection_finish(session=session)
    return True


def pytest_terminal_summary(terminalreporter, config):
    from lab2a.autograder.grading.report import written_line

    report = config.stash.get(REPORT, None)
    if report is not None:
        which = "visible checks" if report.checks == "visible" else "all checks"
        terminalreporter.write_line(f"Lab 2A: {report.score} / {report.max_score} points ({which})", bold=True)
        terminalreporter.write_line(written_line())
