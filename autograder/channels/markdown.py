"""A grading result as Markdown: the per-check table students read on GitHub (job summary), in a Classroom
50 release and in Gradescope's test output. Every text that can come from the student's code (a check's
message quotes its exceptions) is escaped, so it can't break the table or add links, images or HTML.
"""

from lab2a.autograder.grading.report import (
    REVIEW_TITLE,
    Report,
    TestResult,
    printable,
    review_lines,
    written,
    written_line,
)

_STATUS = {"pass": "✅ passed", "partial": "🟡 partial", "fail": "❌ failed", "error": "⚠️ error",
           "skipped": "➖ skipped"}
_SPECIAL = set("\\`*_[]<>|#~")
MAX_MESSAGE = 1500   # characters of a message in a table cell (the JSON report keeps it whole)


def escape(text: str, limit: int = MAX_MESSAGE) -> str:
    """Plain text for one Markdown table cell: every Markdown character backslash-escaped, & and line breaks
    as entities, cut at limit characters."""
    text = printable(text if len(text) <= limit else text[:limit - 1] + "…")
    out = []
    for char in text:
        if char == "&":
            out.append("&amp;")
        elif char in "\r\n":
            out.append("<br>" if char == "\n" else "")
        elif char in _SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def status(test: TestResult) -> str:
    return _STATUS[test.status]


def check_table(tests) -> str:
    rows = ["| check | task | points | result | message |", "|---|---|---:|---|---|"]
    for t in tests:
        rows.append(f"| `{t.name}` | {t.task} | {t.score} / {t.max_score} | {status(t)} | {escape(t.message)} |")
    return "\n".join(rows) + "\n"


def written_table() -> str:
    """The written answers: no points here, a TA's."""
    rows = [written_line(), "", "| written answer | points | result |", "|---|---:|---|"]
    rows += [f"| {escape(a['question'])} | – / {a['max_score']} | graded by a TA |" for a in written()]
    return "\n".join(rows) + "\n"


_PART = {"pass": "✅", "skipped": "➖"}


def part_list(test: TestResult) -> str:
    """A check's result for Gradescope's test output, each message once: the message of a check of one part;
    of several, one line per part (what it scored, and why it lost points)."""
    if len(test.parts) <= 1:
        return escape(test.message) + "\n"
    return "".join(f"- {_PART.get(part['status'], '❌')} {escape(part['name'])} ({part['score']} / "
                   f"{part['max_score']}): {escape(part['message'])}\n" for part in test.parts)


def skipped_list(tests) -> str:
    """The checks that could not run here (0 points; e.g. the GPU check without a GPU): for the formats that
    have no "skipped" (Classroom 50's result.json, Gradescope's tests), which leave them out so that none
    reads as passed."""
    items = [f"- ➖ `{t.name}` ({t.task}, {t.max_score} points): skipped. {escape(t.message)}\n"
             for t in tests if t.status == "skipped"]
    return "**Skipped here**\n\n" + "".join(items) if items else ""


def cell_notes(report: Report) -> str:
    items = [c["message"] for c in report.cells if c["status"] != "ok"] + list(report.notes)
    if not items:
        return ""
    return "**Your cells**\n\n" + "".join(f"- {escape(item)}\n" for item in items)


def summary(report: Report, title: str) -> str:
    """The whole page: a title with the total, the table, the notes on the student's cells, what is hidden."""
    which = "visible checks" if report.checks == "visible" else "all checks"
    text = [f"## {title}: {report.score} / {report.max_score} points ({which})", ""]
    if report.problem:
        text += [f"**Your notebook could not be graded:** {escape(report.problem)}", ""]
    text += [check_table(report.tests), written_table()]
    notes = cell_notes(report)
    if notes:
        text += [notes]
    if report.review:
        items = "".join(f"- {escape(line)}\n" for line in review_lines(report.review))
        text += [f"**{escape(REVIEW_TITLE)}**\n\n{items}"]
    if report.checks == "visible":
        text += ["Hidden checks run when your notebook is graded; they test the same things on other inputs.\n"]
    return "\n".join(text)
