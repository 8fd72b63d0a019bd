"""The course on JupyterHub (deploy/jupyterhub/), driven in Chromium as its users drive it: an instructor and
three students, system accounts made for the test. Formgrader generates and releases lab2a; each student
fetches it in the Assignments tab, writes their cells (through the notebook server's contents API), presses
Validate and Submit (one submits the untouched release first, then their work: the latest is graded);
Formgrader collects, autogrades (the sandboxed grader), takes a TA's points and comment on a written answer,
and releases feedback, which the students fetch and read. Screenshots of every step, the seconds each took
and the hub's log are kept in test-artefacts/jupyterhub/. Needs root (system accounts), Chromium, and npm
(the hub's proxy).
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from lab2a.autograder.channels.nbgrader import course as nbgrader_course
from lab2a.autograder.checks.manifest import ANSWERS, CHECKS
from lab2a.autograder.grading.layout import grade_id

from lab2a import samples

from . import hub as hubs
from .browser import ARGS, CHROMIUM
from .conftest import ROOT

INSTRUCTOR, STUDENTS = "lab2a-ta", ("lab2a-ref", "lab2a-bug", "lab2a-none")
WRITES = {"lab2a-ref": "perfect", "lab2a-bug": "wraps_around", "lab2a-none": None}   # samples.SAMPLES; None: nothing
TWICE = "lab2a-bug"   # submits the release untouched first, then the work: the latest is collected and graded
GRADED = {f"test_{c.name}": c for c in CHECKS if c.points > 0}
ANSWER = "answer_filter"
TA_POINTS, TA_COMMENT = 1.5, "Right about the low-pass shape; say which frequencies it keeps."
WAIT = 120_000   # ms: the longest a step may take (a user's server starting, an autograde) on a busy machine


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "the hub's users are system accounts: making them needs root"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (.ci/run installs Debian's package)"
    if shutil.which("npm") is None:
        return "no npm: the hub's proxy (configurable-http-proxy) comes from npm"
    if not all(shutil.which(tool) for tool in ("useradd", "userdel", "groupadd", "chpasswd", "runuser")):
        return "no useradd/runuser: can't make the hub's system accounts"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing() is not None, reason=_missing() or "")]


class Steps:
    """Numbered screenshots of the steps (the window as the user sees it), and the seconds each step took,
    kept as the test's artefacts."""

    def __init__(self, folder: Path):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder, self.count, self.seconds, self.since = folder, 0, {}, time.monotonic()

    def __call__(self, page, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"))
        self.seconds[f"{self.count:02d}-{name}"] = round(time.monotonic() - self.since, 1)
        self.since = time.monotonic()


def log_in(browser, hub, account):
    """The user's login submitted; the hub starts their server (wait with started())."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", account.name)
    page.fill("#password_input", account.password)
    page.click("#login_submit")
    return page


def started(page, account):
    page.wait_for_url(re.compile(rf"/user/{account.name}/lab"), timeout=WAIT)   # the hub sends them to their lab
    return page


def formgrader_action(page, row, cell: str) -> None:
    """Click an action of a Formgrader row (its cell's link) and wait for nbgrader's answer: success, else fail."""
    row.locator(f"td.{cell} a").click()
    answer = page.locator("#success-modal, #error-modal")
    answer.wait_for(state="visible", timeout=WAIT)
    text = answer.inner_text()
    assert answer.get_attribute("id") == "success-modal", text
    page.locator("#success-modal .modal-footer button").click()
    page.locator("#success-modal").wait_for(state="detached")


def assignment_row(page):
    return page.locator("#main-table tr").filter(has=page.locator("td.name", has_text="lab2a"))


def student_row(page, name: str):
    return page.locator("#main-table tr").filter(has=page.locator("td.student-id", has_text=re.compile(f"^{name}$")))


def open_assignments(page):
    """The Assignments tab (nbgrader's menu in JupyterLab), its list of released assignments loaded."""
    page.locator('#jp-menu-panel div.lm-MenuBar-itemLabel:text("Nbgrader")').click()
    page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
    page.locator("#released_assignments_list").wait_for()


def list_rows(page, name: str, count: int):
    rows = page.locator(f"#{name}_assignments_list > .list_item")
    wait_for_count(rows, count)
    return rows


def submit(page):
    page.locator('#fetched_assignments_list .item_status button:text("Submit")').first.click()


def wait_for_count(locator, count: int) -> None:
    hubs.wait_for(lambda: locator.count() == count, WAIT / 1000, f"{count} of {locator}")


def contents(page, hub, account, path: str, notebook=None):
    """The notebook server's contents API, as the logged-in user: GET (notebook None) or PUT a notebook."""
    url = hub.user_url(account.name, f"api/contents/{path}")
    if notebook is None:
        response = page.request.get(url)
    else:
        xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
        response = page.request.put(url, headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"},
                                    data=json.dumps({"type": "notebook", "format": "json", "content": notebook}))
    assert response.ok, f"{url}: {response.status} {response.text()[:500]}"
    return response.json()


def write_cells(page, hub, account, sample: str, source: Path, scratch: Path) -> None:
    """The student's code in the solution cells (a catalogue sample's), and an answer to each question."""
    fetched = scratch / account.name / "lab2a.ipynb"
    fetched.parent.mkdir(parents=True)
    nbformat.write(nbformat.from_dict(contents(page, hub, account, "lab2a/lab2a.ipynb")["content"]), fetched)
    notebook = samples.build(fetched, source, sample)
    for cell in notebook.cells:
        if grade_id(cell) in {answer.name for answer in ANSWERS}:
            cell.source = "The filter learned to keep the low frequencies, where the speech is."
    contents(page, hub, account, "lab2a/lab2a.ipynb", notebook)


@pytest.fixture
def hub_course(tmp_path):
    """The instructor's course folder (this repository's layout, in their home), the exchange, the accounts
    and the running hub: (hub, instructor, students, course)."""
    with hubs.accounts("lab2a-test-instructors", [INSTRUCTOR]) as (instructor,), \
            hubs.accounts("lab2a-test-students", list(STUDENTS)) as students, \
            hubs.reachable(Path(os.path.realpath(hubs.VENV_BIN / "python")), ROOT):
        reach = students[0].run(str(hubs.VENV_BIN / "python"), "-c", "import lab2a.autograder.grading.grade")
        assert reach.returncode == 0, f"the hub's users can't run this repository's .venv: {reach.stderr[-500:]}"
        course = nbgrader_course.new_course(ROOT, instructor.home / "course")
        subprocess.run(["chown", "-R", f"{instructor.name}:", str(course)], check=True)
        exchange = Path(tempfile.mkdtemp(prefix="lab2a-exchange-"))
        exchange.chmod(0o777)   # nbgrader's exchange: every user writes there
        state = Path(tempfile.mkdtemp(prefix="lab2a-hub-"))
        try:
            with hubs.running_hub(state, course, exchange, "lab2a-test-instructors", "lab2a-test-students") as hub:
                yield hub, instructor, students, course
        finally:
            shutil.rmtree(exchange, ignore_errors=True)
            shutil.rmtree(state, ignore_errors=True)


def test_the_course_on_jupyterhub(hub_course, tmp_path):
    from playwright.sync_api import sync_playwright

    hub, instructor, students, course = hub_course
    shots = Steps(hubs.ARTEFACTS / "screenshots")
    validate_said, validate_seconds = {}, {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # everyone logs in at once (the hub starts their servers side by side); the instructor generates
            # and releases lab2a in Formgrader
            ta = log_in(browser, hub, instructor)
            pages = {account.name: log_in(browser, hub, account) for account in students}
            started(ta, instructor).goto(hub.user_url(instructor.name, "formgrader/manage_assignments"))
            formgrader_action(ta, assignment_row(ta), "assign")
            formgrader_action(ta, assignment_row(ta), "release")
            assignment_row(ta).locator("td.status", has_text="released").wait_for()
            shots(ta, "formgrader-released")

            # each student: fetch, write, Validate, Submit in the Assignments tab
            for account in students:
                page = started(pages[account.name], account)
                formgrader = page.request.get(hub.user_url(account.name, "formgrader"))
                assert formgrader.status == 404, "students have no Formgrader"
                open_assignments(page)
                list_rows(page, "released", 1).first.locator(".item_status button").click()
                list_rows(page, "fetched", 1)
                submissions = page.locator("#nbgrader-lab2a-lab2a-submissions > .list_item")   # a header, then one each
                if account.name == TWICE:   # the notebook as fetched, submitted before any work: superseded below
                    submit(page)
                    wait_for_count(submissions, 2)
                if WRITES[account.name]:
                    write_cells(page, hub, account, WRITES[account.name], course / "source/lab2a/lab2a.ipynb",
                                tmp_path)
                page.locator("#fetched_assignments_list a.assignment-notebooks-link").click()
                notebook_row = page.locator("#nbgrader-lab2a-lab2a.collapse.in .list_item").nth(1)
                clicked = time.monotonic()
                notebook_row.locator('.item_status button:text("Validate")').click()
                dialog = page.locator(".nbgrader-SuccessDialog, .nbgrader-ErrorDialog")
                dialog.wait_for(timeout=WAIT)
                validate_seconds[account.name] = round(time.monotonic() - clicked, 1)
                validate_said[account.name] = dialog.inner_text()
                shots(page, f"validate-{account.name}")
                dialog.locator("button.jp-Dialog-button").click()
                dialog.wait_for(state="detached")
                submit(page)
                list_rows(page, "submitted", 1)
                wait_for_count(submissions, 3 if account.name == TWICE else 2)
                shots(page, f"submitted-{account.name}")

            # the instructor collects and autogrades (the button: the sandboxed grader), grades one written
            # answer, and generates and releases the feedback
            ta.goto(hub.user_url(instructor.name, "formgrader/manage_assignments"))
            formgrader_action(ta, assignment_row(ta), "collect")
            # `lab2a grade` on the collected notebooks, meanwhile (compared with the gradebook at the end)
            isolated_run = subprocess.Popen(
                [sys.executable, "-m", "lab2a.cli", "grade", str(course / "submitted"), "--csv",
                 str(tmp_path / "grades.csv")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            ta.reload()
            assignment_row(ta).locator("td.num-submissions", has_text=str(len(students))).wait_for()
            ta.goto(hub.user_url(instructor.name, "formgrader/manage_submissions/lab2a"))
            for account in students:
                formgrader_action(ta, student_row(ta, account.name), "autograde")
            ta.reload()
            ta.locator("#main-table td.status", has_text="needs manual grading").first.wait_for()
            shots(ta, "formgrader-autograded")

            graded = students[0]
            ta.goto(hub.user_url(instructor.name, f"formgrader/manage_students/{graded.name}/lab2a"))
            ta.locator("#main-table a", has_text="lab2a").click()
            # (formgrader's page fills its fields when its grades and comments have loaded: typing before would
            # be overwritten)
            ta.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded"
                                 " && formgrader.comments && formgrader.comments.loaded")
            ta.locator(f"input#{ANSWER}").scroll_into_view_if_needed()
            ta.locator(f"input#{ANSWER}").fill(str(TA_POINTS))
            ta.locator(f"textarea#{ANSWER}-comment").fill(TA_COMMENT)
            ta.locator(f"input#{ANSWER}").focus()   # (formgrader saves a field when it loses focus)
            hubs.wait_for(lambda: manual_grade(course, graded.name) == (TA_POINTS, TA_COMMENT), WAIT / 1000,
                          "formgrader to save the TA's points and comment")
            shots(ta, "formgrader-written-answer")

            ta.goto(hub.user_url(instructor.name, "formgrader/manage_assignments"))
            formgrader_action(ta, assignment_row(ta), "generate-feedback")
            formgrader_action(ta, assignment_row(ta), "release-feedback")
            shots(ta, "formgrader-feedback-released")

            # each student fetches the feedback and reads it
            feedback = {}
            for account in students:
                page = pages[account.name]
                page.locator("#refresh_assignments_list").click()
                list_rows(page, "submitted", 1).first.locator('button:text("Fetch Feedback")').click()
                page.locator("#submitted_assignments_list", has_text="view feedback").wait_for()
                shots(page, f"feedback-fetched-{account.name}")
                folder = contents(page, hub, account, "lab2a/feedback")["content"]
                assert len(folder) == 1, folder
                page.goto(hub.user_url(account.name, f"files/lab2a/feedback/{folder[0]['name']}/lab2a.html"))
                feedback[account.name] = page.locator("body").inner_text()
                widths = page.eval_on_selector_all(
                    "div.output_area pre", "all => all.map(e => [e.scrollWidth, e.clientWidth])")
                assert all(scroll <= client for scroll, client in widths), (account.name, widths)
                shots(page, f"feedback-{account.name}")
        except Exception:
            for context in browser.contexts:   # where each user's page was when it failed
                for page in context.pages:
                    shots(page, "failed-" + re.sub(r"\W+", "-", page.url.split("/user/")[-1])[:60])
            raise
        finally:
            browser.close()

    (hubs.ARTEFACTS / "steps-seconds.json").write_text(json.dumps(shots.seconds | {"validate": validate_seconds},
                                                                   indent=1))

    # the gradebook's points per check are lab2a grade's on the same submitted notebooks
    nbgrader_scores = nbgrader_course.cell_scores(course)
    said, _ = isolated_run.communicate(timeout=WAIT / 1000)
    assert isolated_run.returncode == 0, said
    with open(tmp_path / "grades.csv") as f:
        isolated = {row["student"]: row for row in csv.DictReader(f)}
    assert set(nbgrader_scores) == set(STUDENTS)
    for student, cells in nbgrader_scores.items():
        for cell, check in GRADED.items():
            assert float(isolated[student][check.name]) == cells[cell], (student, check.name)
    assert sum(nbgrader_scores["lab2a-ref"].values()) > sum(nbgrader_scores["lab2a-bug"].values()) > 0   # (TWICE)
    assert sum(nbgrader_scores["lab2a-none"].values()) == 0

    # Validate named exactly the visible checks short of their points, as graded (and the written answers
    # were answered, so the reference notebook passed)
    for account in students:
        said = " ".join(validate_said[account.name].split())
        failing = {cell for cell, check in GRADED.items()
                   if check.visible and nbgrader_scores[account.name][cell] < check.points}
        assert failing or "Success! Your notebook passes all the tests." in said, (account.name, said)
        for cell, check in GRADED.items():
            assert (f"✗ {check.name} " in said) == (cell in failing), (account.name, check.name, said)
    assert "Success!" in validate_said["lab2a-ref"] and "Success!" not in validate_said["lab2a-bug"]

    # the feedback shows each student their points per check, and the TA's comment to the one graded
    for account in students:
        shown = {cell: float(score) for cell, score in
                 re.findall(r"Grade cell: (\w+)\s+Score: ([\d.]+) /", feedback[account.name])}
        assert {cell: shown.get(cell) for cell in GRADED} == nbgrader_scores[account.name], account.name
    assert TA_COMMENT in feedback["lab2a-ref"] and TA_COMMENT not in feedback["lab2a-bug"]
    assert f"Score: {TA_POINTS} / 2.0" in feedback["lab2a-ref"]


def manual_grade(course: Path, student: str):
    """(points, comment) the TA gave the graded answer, from the gradebook (None until saved)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade(ANSWER, "lab2a", "lab2a", student)
        comment = gradebook.find_comment(ANSWER, "lab2a", "lab2a", student)
        return grade.manual_score, comment.manual_comment
