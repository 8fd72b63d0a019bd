"""The class report as one self-contained HTML page: inline CSS, the score histogram as an embedded PNG
(matplotlib, Agg), no script, no external file. Every text that comes from a student (names, messages,
problems) is escaped, so a message holding `<script>` is shown, never run."""

import base64
import io
from html import escape

from lab2a.autograder.channels.class_report.summary import Summary

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0 1em; width: 100%; }
th, td { border: 1px solid #ddd; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; white-space: nowrap; }
.hidden { color: #8a4b00; } .visible { color: #22577a; } .muted { color: #777; }
code { background: #f6f6f6; padding: 0 .2em; } .example { color: #555; font-size: .92em; }
.warn { background: #fff4e0; border: 1px solid #f0c080; padding: .5em .8em; }
"""


def _h(value) -> str:
    return escape(str(value), quote=True)


def histogram(scores: list, max_score: float) -> str:
    """The score distribution as a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    top = int(max_score) if max_score else 1
    figure, axes = plt.subplots(figsize=(7, 2.8), dpi=100)
    axes.hist(scores, bins=[b - 0.5 for b in range(top + 2)], color="#3b7dd8", edgecolor="white")
    axes.set_xlim(-0.5, top + 0.5)
    axes.set_xlabel(f"score (of {max_score:g})")
    axes.set_ylabel("students")
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _rows(rows) -> str:
    return "\n".join("<tr>" + "".join(rows_cells) + "</tr>" for rows_cells in rows)


def render(summary: Summary, source: str, title: str = "Lab 2A: what the class got wrong") -> str:
    scores = summary.scores
    n = len(scores)
    mean = sum(scores) / n if n else 0.0
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_h(title)}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>{_h(title)}</h1>",
             f"<p>{n} students from <code>{_h(source)}</code>; {len(summary.ungraded)} could not be graded. "
             f"Mean score {mean:.1f} / {summary.max_score:g}.</p>",
             "<h2 id=\"scores\">Scores</h2>",
             f"<img id=\"histogram\" alt=\"score histogram\" src=\"data:image/png;base64,"
             f"{histogram(scores, summary.max_score)}\">",
             "<table id=\"tasks\"><tr><th>task</th><th>mean points</th><th>of</th></tr>",
             _rows([f"<td>{_h(task)}</td>", f"<td class=\"n\">{m:.2f}</td>", f"<td class=\"n\">{top}</td>"]
                   for task, (m, top) in summary.task_means.items()),
             "</table>"]
    parts += ["<h2 id=\"checks\">Checks</h2>",
              "<table id=\"check-table\"><tr><th>check</th><th>task</th><th>shown to students</th><th>points</th>"
              "<th>passed</th><th>pass rate</th><th>mean points</th></tr>",
              _rows([f"<td>{_h(c.name)}</td>", f"<td>{_h(c.task)}</td>",
                     f"<td class=\"{_shown(c)}\">{_shown(c)}</td>",
                     f"<td class=\"n\">{c.max_score}</td>", f"<td class=\"n\">{c.passed} / {c.graded}</td>",
                     f"<td class=\"n\">{100 * c.pass_rate:.0f} %</td>", f"<td class=\"n\">{c.mean:.2f}</td>"]
                    for c in summary.checks),
              "</table>",
              "<h2 id=\"diagnoses\">Most common diagnoses, per check</h2>",
              "<p class=\"muted\">Each diagnosis once per student and check; the example is the first student's "
              "message.</p>",
              "<table id=\"diagnosis-table\"><tr><th>check</th><th>diagnosis</th><th>students</th><th>who</th>"
              "<th>parts</th><th>example message</th></tr>"]
    rows = []
    for c in summary.checks:
        for d in c.diagnoses:
            rows.append([f"<td>{_h(c.name)}</td>", f"<td><code>{_h(d.cause)}</code></td>",
                         f"<td class=\"n\">{len(d.students)}</td>",
                         f"<td class=\"who\">{_h(', '.join(d.students))}</td>", f"<td>{_h(', '.join(d.parts))}</td>",
                         f"<td class=\"example\">{_h(_short(d.example))}</td>"])
    parts += [_rows(rows) if rows else "<tr><td colspan=\"6\">no check failed</td></tr>", "</table>"]
    parts += ["<h2 id=\"ungraded\">Could not be graded</h2>",
              "<table id=\"ungraded-table\"><tr><th>student</th><th>why</th></tr>",
              _rows([f"<td>{_h(student)}</td>", f"<td>{_h(why)}</td>"] for student, why in summary.ungraded)
              or "<tr><td colspan=\"2\">none: every submission was graded from the student's code</td></tr>",
              "</table>",
              "<h2 id=\"review\">For the TA to look at: code that reaches into the interpreter</h2>",
              "<p class=\"muted\">Found in the students' cells (gc, frames, ctypes, torch.library, global hooks, "
              "signal handlers, finalizers, builtins, the grader's package, the meta device named). It costs no "
              "points: the points it could still claim are listed in autograder/README.md.</p>",
              "<table id=\"review-table\"><tr><th>student</th><th>cell</th><th>line</th><th>what</th></tr>",
              _rows([f"<td>{_h(student)}</td>", f"<td>{_h(item.get('cell'))}</td>",
                     f"<td class=\"n\">{_h(item.get('line'))}</td>", f"<td>{_h(item.get('what'))}</td>"]
                    for student, item in summary.review)
              or "<tr><td colspan=\"4\">none</td></tr>",
              "</table>",
              "<h2 id=\"slowest\">Slowest to grade</h2>",
              "<table id=\"slowest-table\"><tr><th>student</th><th>seconds</th></tr>",
              _rows([f"<td>{_h(student)}</td>", f"<td class=\"n\">{seconds:.1f}</td>"]
                    for student, seconds in summary.slowest),
              "</table>",
              "<h2 id=\"environment\">Where the grades came from</h2>"]
    if len(summary.environments) > 1:
        parts.append(f"<p class=\"warn\">The grades came from {len(summary.environments)} different environments: "
                     f"compare them before comparing grades.</p>")
    for environment, students in summary.environments:
        parts.append(f"<table class=\"environment-table\"><tr><th colspan=\"2\">{len(students)} students</th></tr>")
        parts.append(_rows([f"<td>{_h(k)}</td>", f"<td>{_h(v)}</td>"] for k, v in environment.items())
                     or "<tr><td colspan=\"2\">not recorded (reports older than schema version 3)</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _shown(check) -> str:
    return "visible" if check.visible else "hidden"


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
