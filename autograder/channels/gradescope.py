"""Gradescope: the autograder zip (`lab2a export gradescope OUT.zip`) and what its run_autograder writes.

The zip, unpacked by Gradescope in /autograder/source (students never see it), holds the grader with its
hidden checks (kit.py, private=True), requirements.txt, setup.sh and run_autograder. setup.sh makes a Python
3.11 environment of its own in /autograder/venv (torch's CPU build: lab2a/torch_index.py) (Gradescope's
harness uses the system python3: it is left alone). run_autograder grades the one notebook in
/autograder/submission with every check and writes /autograder/results/results.json: per check its name,
score, max_score, status, output (Markdown) and visibility (hidden checks `after_published` unless the export
said otherwise). The student's code runs in the grader's sandbox, which reads the Python runtime only: not
source/ (the hidden checks), not the other files of /autograder, and (Gradescope runs it as root) it runs as
an unprivileged account, lab2a-student, that can't read what only root can. results.json is valid JSON
whatever happens: written atomically by the grader, or by run_autograder itself when the grader could not
start. AUTOGRADER_ROOT (default /autograder) moves all of it, for the tests.
"""

import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from lab2a.autograder.channels import kit, markdown
from lab2a.autograder.grading.report import Report, write_whole

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
SETTINGS = "gradescope.json"   # in source/: the export's choices (the hidden checks' visibility)

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 22.04): a Python 3.11
# environment of the lab's own in $ROOT/venv. The system python3 is not touched.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${LAB2A_BASE_PYTHON:-python3.11}"   # the Python the requirements are installed and tested on
# the account the student's code runs as (run_autograder runs as root; the grader drops to this one)
account="${LAB2A_SANDBOX_USER:-lab2a-student}"
id -u "$account" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$account"
if ! command -v "$PYTHON" >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3.11 python3.11-venv
fi
"$PYTHON" -m venv "$ROOT/venv"
# Where torch comes from (lab2a/torch_index.py, as for every install of the lab): PyTorch's CPU index when it
# answers within seconds (Gradescope has no GPU), else pip's configured index at once, not after minutes of retries.
torch_index=$("$ROOT/venv/bin/python" "$ROOT/source/lab2a/torch_index.py")
# shellcheck disable=SC2086  # empty, or "--extra-index-url URL": two words
"$ROOT/venv/bin/python" -m pip install --quiet --disable-pip-version-check $torch_index \\
    -r "$ROOT/source/requirements.txt"
"$ROOT/venv/bin/python" "$ROOT/source/lab2a/torch_index.py" --installed
"$ROOT/venv/bin/python" -c "import torch; print('setup.sh: torch', torch.__version__, 'ready')"
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grades the notebook in $ROOT/submission with every check and
# writes $ROOT/results/results.json. If the grader can't even start, a results.json still says so.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
export PYTHONPATH="$ROOT/source"
# Run as root, the grader runs the student's code as this account; it can't read what only root can
# (the sandbox's Landlock rules close the rest where the kernel has them).
export LAB2A_SANDBOX_USER="${LAB2A_SANDBOX_USER:-lab2a-student}"
if [ "$(id -u)" = 0 ]; then
    id -u "$LAB2A_SANDBOX_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin \
        "$LAB2A_SANDBOX_USER"
    chmod -R go-rwx "$ROOT/source" "$ROOT/submission" "$ROOT/results"
    chmod go-rwx "$ROOT/submission_metadata.json" 2>/dev/null
fi
"$ROOT/venv/bin/python" -P -m lab2a.autograder.channels.gradescope
status=$?
if [ $status -ne 0 ] && [ ! -s "$RESULTS" ]; then
    cat > "$RESULTS" <<JSON
{"score": 0, "output_format": "md", "tests": [],
 "output": "The autograder itself failed (exit status $status), not your code: your instructor can see its log."}
JSON
fi
exit 0
"""


def export(repository: Path, out_zip: Path, hidden_visibility: str = "after_published") -> Path:
    """Write the zip (replaced if it exists): setup.sh, run_autograder, requirements.txt, lab2a/ at its root."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {VISIBILITIES}, got {hidden_visibility!r}")
    with tempfile.TemporaryDirectory() as staging:
        folder = Path(staging)
        kit.write_package(repository, folder, private=True)
        (folder / "requirements.txt").write_text(kit.requirements(repository))
        (folder / SETTINGS).write_text(json.dumps({"hidden_visibility": hidden_visibility}) + "\n")
        (folder / "setup.sh").write_text(SETUP)
        (folder / "run_autograder").write_text(RUN)
        out_zip.parent.mkdir(parents=True, exist_ok=True)
        partial = out_zip.with_name(out_zip.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    info = zipfile.ZipInfo.from_file(path, path.relative_to(folder).as_posix())
                    info.external_attr = (0o755 if path.name in ("setup.sh", "run_autograder") else 0o644) << 16
                    archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        partial.replace(out_zip)
    return out_zip


def results(report: Report, seconds: float, hidden_visibility: str = "after_published") -> dict:
    tests = []
    for t in report.tests:
        if t.status == "skipped":   # Gradescope has no "skipped" status: listed in the output instead
            continue
        tests.append({"name": f"{t.name} ({t.task})", "score": t.score, "max_score": t.max_score,
                      "status": "passed" if t.status == "pass" else "failed",
                      "output": markdown.part_list(t), "output_format": "md",
                      "visibility": "visible" if t.visible else hidden_visibility})
    output = markdown.cell_notes(report)
    if report.problem:
        output = f"**Your notebook could not be graded:** {markdown.escape(report.problem)}\n\n" + output
    output = (output or "Every check's result is below.\n") + "\n" + markdown.written_table()
    skipped = markdown.skipped_list(report.tests)
    if skipped:
        output += "\n" + skipped
    return {"execution_time": round(seconds), "output": output,
            "output_format": "md", "stdout_visibility": "hidden", "tests": tests}


def _settings(source: Path) -> dict:
    try:
        settings = json.loads((source / SETTINGS).read_text())
    except (OSError, ValueError):
        return {}
    return settings if isinstance(settings, dict) else {}


def main() -> int:
    """run_autograder's grader: the submission graded with every check, results.json written."""
    from lab2a.autograder.grading.terminal import filter_terminal

    filter_terminal()  # the run's log shows nothing a student wrote as a control sequence
    started = time.monotonic()
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    visibility = _settings(root / "source").get("hidden_visibility", "after_published")
    if visibility not in VISIBILITIES:
        visibility = "after_published"
    from lab2a.autograder.grading.fork_server import start_early
    from lab2a.autograder.grading.submission import choose

    if choose(root / "submission").path is not None:
        start_early()  # (nothing to grade: no sandbox to start)
    from lab2a.autograder.grading.grade import grade_submission

    report = grade_submission(root / "submission", hidden=True)
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_whole(out, json.dumps(results(report, time.monotonic() - started, visibility), indent=2,
                                ensure_ascii=False) + "\n")
    print(f"Lab 2A: {report.score} / {report.max_score} points; {out} written")
    if report.sandbox:  # in the run's log, which instructors read
        print(f"the student's code ran as {report.sandbox.get('user') or 'the grader'}"
              + ("" if report.confined else f"; WARNING: not fully confined on this system: {report.sandbox}"))
    if report.grader_failed:
        print(f"the grader failed: {report.problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from lab2a.quick_exit import quick_exit

    quick_exit(main())
