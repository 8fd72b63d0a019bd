"""The course on JupyterHub (deploy/jupyterhub/), driven in Chromium as its users drive it: an instructor and
four students, system accounts made for the test. Formgrader generates and releases lab2a; each student
fetches it in the Assignments tab, writes their cells (through the notebook server's contents API), presses
Validate and Submit (one submits the untouched release first, then their work: the latest is graded; one
renames the notebook before submitting); the TA sets a due date in Formgrader's Edit dialog that falls
between the first student's submission and the others'; Formgrader collects, autogrades (the sandboxed
grader: the late submissions are marked late, the renamed notebook is refused, and `lab2a autograde` in the
course folder grades it), takes a TA's points and comment on a written answer, and releases feedback, which
the students fetch and read. Screenshots of every step, the seconds each took and the hub's log are kept in
test-artefacts/jupyterhub/. Needs root (system accounts), Chromium, and npm (the hub's proxy).
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

from lab2a import samples
from lab2a.autograder.channels.nbgrader import course as nbgrader_course
from lab2a.autograder.checks.manifest import ANSWERS, CHECKS
from lab2a.autograder.grading.layout import grade_id

from . import hub as hubs
from .browser import ARGS, CHROMIUM
from .conftest import ROOT

INSTRUCTOR, STUDENTS = "lab2a-ta", ("lab2a-ref", "lab2a-bug", "lab2a-none", "lab2a-ren")
WRITES = {"lab2a-ref": "perfect", "lab2a-bug": "wraps_around", "lab2a-none": None,   # samples.SAMPLES; None: nothing
          "lab2a-ren": "filter_only"}
TWICE = "lab2a-bug"   # submits the release untouched first, then the work: the latest is collected and graded
ON_TIME = STUDENTS[0]   # the due date falls just after their submission: every other student's is late
RENAMED, RENAMED_TO = "lab2a-ren", "lab2a (1).ipynb"   # renames lab2a.ipynb (and doesn't Validate) before submitting
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


def formgrader_action(page, row, cell: str, expect: str = "success", shot=None) -> str:
    """Click an action of a Formgrader row (its cell's link), wait for nbgrader's answer (its dialog, with
    nbgrader's log) and close it: fail unless it is `expect` ("success" or "error"). Returns the dialog's
    text; shot(page) first, if given, screenshots the dialog."""
    row.locator(f"td.{cell} a").click()
    answer = page.locator("#success-modal, #error-modal")
    answer.wait_for(state="visible", timeout=WAIT)
    text = answer.inner_text()
    assert answer.get_attribute("id") == f"{expect}-modal", text
    if shot:   # (once Bootstrap's fade-in has ended)
        page.wait_for_function(f"() => getComputedStyle(document.getElementById('{expect}-modal')).opacity === '1'")
        shot(page)
    page.locator(f"#{expect}-modal .modal-footer button").click()
    page.locator(f"#{expect}-modal").wait_for(state="detached")
    return text


def set_due_date(page, due: datetime) -> None:
    """The assignment's due date, as a TA sets it: Edit (the pencil) on its row in Manage Assignments, the date
    and time (UTC) in the dialog, Save."""
    assignment_row(page).locator("td.edit a").click()
    dialog = page.locator("#edit-assignment-modal")
    dialog.wait_for(state="visible")
    # (the browser keeps a datetime-local's seconds only when they are not 0)
    dialog.locator("input.modal-duedate").fill(due.strftime("%Y-%m-%dT%H:%M:%S").removesuffix(":00"))
    dialog.locator("input.modal-timezone").fill("+0000")
    dialog.locator("button.save").click()
    dialog.wait_for(state="detached")
    assignment_row(page).locator("td.duedate", has_text=due.strftime("%Y-%m-%d %H:%M:%S")).wait_for()


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


def submit(page, after: datetime | None):
    """Submit (the fetched assignment's button); after a time (UTC) if given: the clock is waited for, not
    raced."""
    if after is not None:
        hubs.wait_for(lambda: now() > after, WAIT / 1000, f"the clock to pass {after} UTC")
    page.locator('#fetched_assignments_list .item_status button:text("Submit")').first.click()


def now() -> datetime:
    """UTC, without a time zone, as nbgrader compares timestamps and due dates."""
    return datetime.now(UTC).replace(tzinfo=None)


def submitted_at(exchange: Path, student: str) -> datetime:
    """When the student's latest submission was made, as nbgrader recorded it in the exchange (UTC)."""
    from nbgrader.utils import parse_utc

    return max(parse_utc((folder / "timestamp.txt").read_text())
               for folder in (exchange / "lab2a" / "inbound").glob(f"{student}+lab2a+*"))


def wait_for_count(locator, count: int) -> None:
    hubs.wait_for(lambda: locator.count() == count, WAIT / 1000, f"{count} of {locator}")


def contents(page, hub, account, path: str, notebook=None, rename: str | None = None):
    """The notebook server's contents API, as the logged-in user: GET (notebook None), PUT a notebook, or
    rename the file to `rename` (as JupyterLab's file browser does)."""
    url = hub.user_url(account.name, f"api/contents/{quote(path)}")
    if notebook is None and rename is None:
        response = page.request.get(url)
    else:
        xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf")
        headers = {"X-XSRFToken": xsrf, "Content-Type": "application/json"}
        response = page.request.put(url, headers=headers, data=json.dumps(
            {"type": "notebook", "format": "json", "content": notebook})) if rename is None else \
            page.request.patch(url, headers=headers, data=json.dumps({"path": rename}))
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
    and the running hub: (hub, instructor, students, course, exchange)."""
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
                yield hub, instructor, students, course, exchange
        finally:
            shutil.rmtree(exchange, ignore_errors=True)
            shutil.rmtree(state, ignore_errors=True)


def test_the_course_on_jupyterhub(hub_course, tmp_path):
    from playwright.sync_api import sync_playwright

    hub, instructor, students, course, exchange = hub_course
    shots = Steps(hubs.ARTEFACTS / "screenshots")
    validate_said, validate_seconds, autograde_said, due = {}, {}, {}, None
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

            # each student: fetch, write, Validate, Submit in the Assignments tab (after ON_TIME's submission,
            # each waits for the clock to pass the due date the TA sets below: theirs are late)
            for account in students:
                page = started(pages[account.name], account)
                formgrader = page.request.get(hub.user_url(account.name, "formgrader"))
                assert formgrader.status == 404, "students have no Formgrader"
                open_assignments(page)
                list_rows(page, "released", 1).first.locator(".item_status button").click()
                list_rows(page, "fetched", 1)
                submissions = page.locator("#nbgrader-lab2a-lab2a-submissions > .list_item")   # a header, then one each
                if account.name == TWICE:   # the notebook as fetched, submitted before any work: superseded below
                    submit(page, due)
                    wait_for_count(submissions, 2)
                if WRITES[account.name]:
                    write_cells(page, hub, account, WRITES[account.name], course / "source/lab2a/lab2a.ipynb",
                                tmp_path)
                if account.name == RENAMED:   # as a file browser or a download names a second copy
                    contents(page, hub, account, "lab2a/lab2a.ipynb", rename=f"lab2a/{RENAMED_TO}")
                else:
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
                submit(page, due)
                list_rows(page, "submitted", 1)
                wait_for_count(submissions, 3 if account.name == TWICE else 2)
                shots(page, f"submitted-{account.name}")
                if account.name == ON_TIME:   # the next whole second after it, as the dialog takes a time
                    due = (submitted_at(exchange, ON_TIME) + timedelta(seconds=1)).replace(microsecond=0)

            # the TA sets the due date (Formgrader's Edit dialog): nbgrader decides who is late when it
            # autogrades, from this date and each submission's time
            ta.goto(hub.user_url(instructor.name, "formgrader/manage_assignments"))
            set_due_date(ta, due)
            shots(ta, "formgrader-due-date")

            # the instructor collects and autogrades (the button: the sandboxed grader), grades one written
            # answer, and generates and releases the feedback
            formgrader_action(ta, assignment_row(ta), "collect")
            # `lab2a grade` on the collected notebooks (a copy, as collected), meanwhile: compared with the
            # gradebook at the end
            shutil.copytree(course / "submitted", tmp_path / "submitted")
            isolated_run = subprocess.Popen(
                [sys.executable, "-m", "lab2a.cli", "grade", str(tmp_path / "submitted"), "--csv",
                 str(tmp_path / "grades.csv")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            ta.reload()
            assignment_row(ta).locator("td.num-submissions", has_text=str(len(students))).wait_for()
            ta.goto(hub.user_url(instructor.name, "formgrader/manage_submissions/lab2a"))
            for account in students:
                # a renamed notebook: plain nbgrader autograde (the button) finds no lab2a.ipynb to grade
                autograde_said[account.name] = formgrader_action(
                    ta, student_row(ta, account.name), "autograde", "error" if account.name == RENAMED else "success",
                    shot=(lambda page, name=account.name: shots(page, f"formgrader-autograde-{name}"))
                    if account.name in (TWICE, RENAMED) else None)
            # the TA's command for it, in the instructor's terminal on the hub: the renamed notebook is graded
            terminal = hubs.in_instructor_terminal(instructor, course, exchange, str(hubs.VENV_BIN / "lab2a"),
                                                   "autograde", "--student", RENAMED, timeout=WAIT / 1000)
            (hubs.ARTEFACTS / "lab2a-autograde.txt").write_text(terminal.stdout + terminal.stderr)
            assert terminal.returncode == 0, terminal.stdout + terminal.stderr[-4000:]
            ta.reload()
            student_row(ta, RENAMED).locator("td.status", has_text="needs manual grading").wait_for()
            ta.locator("#main-table td.status", has_text="needs autograding").wait_for(state="detached")
            formgrader_scores = {account.name: student_row(ta, account.name).locator("td.score").inner_text()
                                 for account in students}
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

            # the renamed notebook's feedback: nbgrader releases it under the name it graded (lab2a), and the
            # student's Fetch Feedback looks for the name they submitted: it finds none...
            page = pages[RENAMED]
            page.locator("#refresh_assignments_list").click()
            button = list_rows(page, "submitted", 1).first.locator('button:text("Fetch Feedback")')
            with page.expect_response(lambda response: "/assignments/fetch_feedback" in response.url) as fetched:
                button.click()
            renamed_feedback = submitted_notebooks(fetched.value.json())
            hubs.wait_for(button.is_enabled, WAIT / 1000, "the Assignments tab to show the answer")
            shots(page, f"feedback-not-found-{RENAMED}")
            # ...until the TA, in the terminal, copies it to that name and releases the feedback again
            copied = hubs.in_instructor_terminal(
                instructor, course, exchange, "cp", f"feedback/{RENAMED}/lab2a/lab2a.html",
                f"feedback/{RENAMED}/lab2a/{Path(RENAMED_TO).stem}.html", timeout=WAIT / 1000)
            assert copied.returncode == 0, copied.stderr
            ta.goto(hub.user_url(instructor.name, "formgrader/manage_submissions/lab2a"))
            formgrader_action(ta, student_row(ta, RENAMED), "release-feedback")

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
                name = Path(RENAMED_TO if account.name == RENAMED else "lab2a.ipynb").stem   # (as submitted)
                page.goto(hub.user_url(account.name, f"files/lab2a/feedback/{quote(folder[0]['name'])}/"
                                                     f"{quote(name)}.html"))
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

    # the gradebook's points per check are lab2a grade's on the same submitted notebooks (the renamed one
    # included: both grade the folder's only notebook), and Formgrader shows their sum
    nbgrader_scores = nbgrader_course.cell_scores(course)
    said, _ = isolated_run.communicate(timeout=WAIT / 1000)
    assert isolated_run.returncode == 0, said
    with open(tmp_path / "grades.csv") as f:
        isolated = {row["student"]: row for row in csv.DictReader(f)}
    assert set(nbgrader_scores) == set(STUDENTS)
    for student, cells in nbgrader_scores.items():
        for cell, check in GRADED.items():
            assert float(isolated[student][check.name]) == cells[cell], (student, check.name)
        assert formgrader_scores[student].startswith(f"{round(sum(cells.values()), 2):g} / "), \
            (student, formgrader_scores[student], cells)
    totals = {student: sum(cells.values()) for student, cells in nbgrader_scores.items()}
    assert totals["lab2a-ref"] > totals["lab2a-bug"] > 0   # (TWICE: the work, not the release, was graded)
    assert totals["lab2a-ref"] > totals[RENAMED] > 0      # (the student's own renamed notebook, not a stand-in)
    assert totals["lab2a-none"] == 0

    # the renamed notebook: the button's nbgrader autograde refused it; lab2a autograde graded it and said so
    assert "Skipping unknown notebook" in autograde_said[RENAMED] and "No notebooks found" in autograde_said[RENAMED]
    assert (f"{RENAMED}: renamed notebook taken: lab2a.ipynb is missing; the only notebook in the folder, "
            f"{RENAMED_TO!r}, was graded in its place (was it renamed?)") in terminal.stdout, terminal.stdout

    assert renamed_feedback == {Path(RENAMED_TO).stem: False}, renamed_feedback   # (fetched later, after the TA's copy)

    # the due date: every submission after it is late (nbgrader's log says so in Formgrader's dialog), with
    # no penalty (nbgrader's late-submission plugin's default: the points above are the checks')
    late = lateness(course)
    assert late[ON_TIME][0] == 0 and "seconds late" not in autograde_said[ON_TIME], late[ON_TIME]
    for student in set(STUDENTS) - {ON_TIME}:
        seconds, penalty = late[student]
        assert seconds > 0 and not penalty, (student, late[student])
        assert re.search(rf"{student}.* is [\d.]+ seconds late", autograde_said[student]), autograde_said[student]

    # Validate named exactly the visible checks short of their points, as graded (and the written answers
    # were answered, so the reference notebook passed)
    for student, said in validate_said.items():
        said = " ".join(said.split())
        failing = {cell for cell, check in GRADED.items()
                   if check.visible and nbgrader_scores[student][cell] < check.points}
        assert failing or "Success! Your notebook passes all the tests." in said, (student, said)
        for cell, check in GRADED.items():
            assert (f"✗ {check.name} " in said) == (cell in failing), (student, check.name, said)
    assert "Success!" in validate_said["lab2a-ref"] and "Success!" not in validate_said["lab2a-bug"]

    # the feedback shows each student their points per check, and the TA's comment to the one graded
    for account in students:
        shown = {cell: float(score) for cell, score in
                 re.findall(r"Grade cell: (\w+)\s+Score: ([\d.]+) /", feedback[account.name])}
        assert {cell: shown.get(cell) for cell in GRADED} == nbgrader_scores[account.name], account.name
    assert TA_COMMENT in feedback["lab2a-ref"] and TA_COMMENT not in feedback["lab2a-bug"]
    assert f"Score: {TA_POINTS} / 2.0" in feedback["lab2a-ref"]


def submitted_notebooks(listing) -> dict[str, bool]:
    """{notebook: whether its feedback has been fetched} of the submitted notebooks in the Assignments tab's
    listing (the JSON nbgrader's server answers with)."""
    found = {}
    if isinstance(listing, dict):
        if "notebook_id" in listing and "has_local_feedback" in listing:
            found[listing["notebook_id"]] = listing["has_local_feedback"]
        listing = list(listing.values())
    if isinstance(listing, list):
        for item in listing:
            found |= submitted_notebooks(item)
    return found


def lateness(course: Path) -> dict[str, tuple[float, float | None]]:
    """{student: (seconds late, late-submission penalty)} from the gradebook, as nbgrader computed them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {submission.student.id: (submission.total_seconds_late, submission.late_submission_penalty)
                for submission in gradebook.assignment_submissions("lab2a")}


def manual_grade(course: Path, student: str):
    """(points, comment) the TA gave the graded answer, from the gradebook (None until saved)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade(ANSWER, "lab2a", "lab2a", student)
        comment = gradebook.find_comment(ANSWER, "lab2a", "lab2a", student)
        return grade.manual_score, comment.manual_comment
