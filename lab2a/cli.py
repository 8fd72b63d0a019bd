"""The `lab2a` command: one subcommand per job, each a thin shell over the part that does it."""

import argparse
import shutil
import signal
import sys
from pathlib import Path


def _data(args) -> int:
    from lab2a import data

    out = Path(args.out) if args.out else data.default_path()
    card = data.build(out, preset=args.preset, clips=args.clips, seed=args.seed,
                      progress=False if args.quiet else None)
    ls = card["least_squares_filter"]
    print(f"wrote {out} ({card['bytes'] / 1e6:.0f} MB, sha256 {card['sha256'][:12]}...)")
    print(f"  {card['clips']} clips, preset {card['preset']}, seed {card['seed']}; "
          f"SNR {card['snr_db']['min']:.1f} to {card['snr_db']['max']:.1f} dB; "
          f"speech RMS {card['speech_rms']['median']:.2e}")
    for taps, scores in ls.items():
        test = scores["test"]
        print(f"  least-squares {taps}-tap filter on the test clips: MSE {test['mse']:.3g}, "
              f"SNR {test['snr_in_db']:.1f} -> {test['snr_out_db']:.1f} dB")
    recipe = card["course_recipe"]
    print(f"  the course's recipe (10 taps at 1, SGD 0.005, 20 epochs): test MSE {recipe['test_mse_median']:.3g} "
          f"(median of {len(recipe['test_by_shuffle_seed'])} shuffles; {recipe['class_test_mse']:.2g} in class)")
    print(f"  data card {data.card_path(out)}, examples in {data.examples_dir(out)}/")
    return 0


def _grading(args, hidden: bool) -> int:
    """grade and check: the table on stdout, the JSON report to --json. Exit codes: see the --help texts."""
    from lab2a.autograder.grading.errors import GraderError
    from lab2a.autograder.grading.fork_server import start_early
    from lab2a.autograder.grading.limits import Limits

    limits = Limits(timeout=args.timeout, memory=int(args.memory * 2 ** 30))
    start_early(limits)
    from lab2a.autograder.grading.grade import grade_file, grade_submission
    from lab2a.autograder.grading.report import write_whole

    path = Path(args.notebook)
    if path.is_dir() or args.github:  # a student's checkout: its notebook chosen, a result whatever happens
        report = grade_submission(path if path.is_dir() or path.is_file() else path.parent, hidden, limits,
                                  args.only)
    else:
        try:
            report = grade_file(path, hidden=hidden, limits=limits, only=args.only)
        except GraderError as error:
            print(f"lab2a {args.command}: the grader could not run: {error}", file=sys.stderr)
            return 2
    if report.sandbox and not report.confined:
        _unconfined_warning(args.command, report.sandbox)
    text = report.table(width=max(80, min(120, shutil.get_terminal_size((100, 24)).columns)))
    summary = (f"Score: {report.score} / {report.max_score}" if hidden else
               f"Visible checks: {report.score} / {report.max_score} points. "
               f"Hidden checks run when your notebook is graded.")
    if args.github:
        from lab2a.autograder.channels.github import publish
        publish(report, text + "\n" + summary + "\n", Path(report.notebook))
    else:
        sys.stdout.write(text + "\n" + summary + "\n")
    if args.json:
        out = Path(args.json)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_whole(out, report.to_json())
        except OSError as error:
            print(f"lab2a {args.command}: could not write the report {out}: {error}", file=sys.stderr)
            return 2
    if report.grader_failed:
        print(f"lab2a {args.command}: the grader could not run: {report.problem}", file=sys.stderr)
        return 2
    if hidden:
        return 0
    return 0 if report.all_passed else 1


def _unconfined_warning(command: str, sandbox: dict) -> None:
    said = "; ".join(f"{k}: {v}" for k, v in sandbox.items() if k != "confined" and str(v).startswith("not"))
    print(f"lab2a {command}: WARNING: the student's code was not fully confined on this system ({said}). Grade "
          f"submissions you don't trust on Linux 5.13 or newer; docs/sandbox.md.", file=sys.stderr)


def _grade(args) -> int:
    if Path(args.notebook).is_dir():
        return _grade_folder(args)
    return _grading(args, hidden=True)


def _grade_folder(args) -> int:
    """lab2a grade FOLDER: every submission in parallel, one CSV."""
    from lab2a.autograder.channels.batch import grade_class
    from lab2a.autograder.grading.errors import GraderError
    from lab2a.autograder.grading.limits import Limits

    out = Path(args.csv or Path(args.notebook) / "grades.csv")
    limits = Limits(timeout=args.timeout, memory=int(args.memory * 2 ** 30))
    try:
        reports = grade_class(Path(args.notebook), out, jobs=args.jobs, limits=limits,
                               json_dir=Path(args.json) if args.json else None)
    except (GraderError, FileNotFoundError) as error:
        print(f"lab2a grade: the grader could not run: {error}", file=sys.stderr)
        return 2
    unconfined = next((r.sandbox for r in reports.values() if r.sandbox and not r.confined), None)
    if unconfined:
        _unconfined_warning("grade", unconfined)
    width = max(len(student) for student in reports)
    for student in sorted(reports):
        print(f"  {student:{width}s}  {reports[student].score:>3d} / {reports[student].max_score}")
    print(f"{len(reports)} notebooks graded; per-check points and totals in {out}")
    return 0


def _course_tool(name: str, command: str):
    """lab2a.demo or lab2a.bench, for the command `lab2a COMMAND`: TA tools, present in the course repository
    only (a student kit leaves them out). None, with the reason on stderr, where they are missing."""
    import importlib

    try:
        module = importlib.import_module(f"lab2a.{name}")
    except ImportError:
        module = None
    if module is None or not (module.REPOSITORY / "source" / "lab2a" / "lab2a.ipynb").exists():
        print(f"lab2a {command} needs the course repository (source/ and nbgrader_config.py)", file=sys.stderr)
        return None
    return module


def _export(args) -> int:
    demo = _course_tool("demo", "export")
    if demo is None:
        return 2
    target = getattr(args, "target", "github")
    if target == "github":
        from lab2a.autograder.channels import github

        out = github.export(demo.REPOSITORY, Path(args.dir).resolve(), legacy=args.legacy_classroom)
        workflow = github.LEGACY_WORKFLOW if args.legacy_classroom else github.WORKFLOW
        legacy = f", {len(github.graded_checks())} legacy Classroom steps" if args.legacy_classroom else ""
        print(f"wrote the GitHub template repository to {out}/: lab2a.ipynb, the lab2a package without solutions "
              f"or hidden checks, requirements.txt, setup.sh (the student's install), {workflow.as_posix()} "
              f"(the visible checks, "
              f"{sum(c.points for c in github.graded_checks())} points{legacy})")
    elif target == "classroom50":
        from lab2a.autograder.channels import classroom50

        out = classroom50.export(demo.REPOSITORY, Path(args.dir).resolve())
        print(f"wrote the Classroom 50 bundle to {out}/: autograder.py, the lab2a package without solutions or "
              f"hidden checks, requirements.txt, README.md. Publish it as autograders/<assignment>/ of the classroom; "
              f"README.md says which runtime to choose and how the runner keeps the install between pushes.")
    else:
        from lab2a.autograder.channels import gradescope

        out = gradescope.export(demo.REPOSITORY, Path(args.zip).resolve(), args.hidden_visibility)
        print(f"wrote the Gradescope autograder {out} ({out.stat().st_size / 1e6:.1f} MB): setup.sh, "
              f"run_autograder, the grader with its hidden checks. Upload it as the assignment's autograder.")
    return 0


def _bench(args) -> int:
    bench = _course_tool("bench", "bench")
    return 2 if bench is None else bench.run(Path(args.json) if args.json else None, args.repeats,
                                             args.only.split(",") if args.only else None)


def _demo(args) -> int:
    demo = _course_tool("demo", "demo")
    if demo is None:
        return 2
    demo.run(Path(args.dir).resolve())
    return 0


def _autograde(args) -> int:
    """nbgrader autograde, after making every submission gradeable; run from the course folder."""
    from lab2a.autograder.channels.nbgrader import course as nbgrader_course
    from lab2a.autograder.channels.nbgrader import parallel

    course = Path.cwd()
    if not (course / "nbgrader_config.py").exists():
        print("lab2a autograde: run it from the course folder (the one with nbgrader_config.py)", file=sys.stderr)
        return 2
    try:
        result, prepared, ungraded = nbgrader_course.autograde(course, args.student, args.force, capture=False,
                                                               jobs=args.jobs or parallel.default_jobs())
    except (FileNotFoundError, ValueError, RuntimeError) as error:   # RuntimeError: parallel.MergeFailed
        print(f"lab2a autograde: {error}", file=sys.stderr)
        return 2
    changed = [p for p in prepared if p.action != "ok"]
    print(f"lab2a autograde: {len(prepared)} submissions, {len(changed)} needed care before nbgrader could grade them")
    for p in changed:
        what = {"stand-in": "graded 0, with the reason in its feedback", "renamed": "renamed notebook taken",
                "repaired": "repaired", "failed": "not prepared"}[p.action]
        print(f"  {p.student}: {what}: {p.message}")
    for student in ungraded:
        print(f"  {student}: nbgrader left no graded notebook (its log above says why); "
              f"`lab2a grade submitted/{student}/lab2a/lab2a.ipynb` grades it alone", file=sys.stderr)
    unconfined = nbgrader_course.unconfined(course)
    if unconfined:
        _unconfined_warning("autograde", unconfined)
    return 1 if ungraded or result.returncode else 0


def _check(args) -> int:
    return _grading(args, hidden=False)


def _report(args) -> int:
    """lab2a report SOURCE OUT.html: what the class got wrong, on one page."""
    from lab2a.autograder.channels.class_report.load import BadInput
    from lab2a.autograder.channels.class_report.write import write

    out = Path(args.out)
    try:
        summary = write(Path(args.source), out)
    except BadInput as error:
        print(f"lab2a report: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"lab2a report: could not write {out}: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}: {len(summary.entries)} students, {len(summary.ungraded)} not graded from their own code")
    return 0


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"the timeout must be between 0 and 3600 seconds, got {text}")
    return value


def _gibibytes(text: str) -> float:
    value = float(text)
    if not 0.5 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"the memory limit must be between 0.5 and 1024 GiB, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"need at least 2 clips (a train and a test clip), got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    from lab2a.data import PRESET_NAMES  # (not the builder: that would load torch before grading starts)

    top = argparse.ArgumentParser(prog="lab2a", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="build the lab's dataset (deterministic, offline)",
                               description="Build the lab's dataset with its data card and WAV examples.")
    data.add_argument("--out", help="the file to write (default: data/data_lab_2A.pt, where the notebook looks; "
                                    "or $LAB2A_DATA)")
    data.add_argument("--preset", choices=PRESET_NAMES, default="course",
                      help="course: the course's statistics (default); realistic: mixed everyday noise")
    data.add_argument("--clips", type=_positive, default=1500, help="number of (noisy, clean) pairs (default 1500)")
    data.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same bytes")
    data.add_argument("--quiet", action="store_true", help="no progress bar")
    data.set_defaults(run=_data)

    how = ("The student's code (the two solution cells, and added cells that only define functions, classes, "
           "imports or constants) runs in a separate Python process with a time limit per check and a memory "
           "limit; the results are judged in this process. Test cells and stored outputs are never used.")
    grade = commands.add_parser(
        "grade", help="grade a submitted notebook: every check, hidden ones included",
        description="Grade a notebook file: every check, hidden ones included. " + how,
        epilog="Exit status: 0 when grading completed, whatever the score (an unreadable notebook is graded "
               "0 with a message for every check); 2 when the grader itself could not run (the reason is on "
               "stderr). The JSON report: {score, max_score, tests: [{name, score, max_score, status, "
               "message}], ...}; status is pass, partial, fail, error (the check could not finish) or skipped.")
    check = commands.add_parser(
        "check", help="check your notebook before you submit it: the visible checks",
        description="Run the visible checks on your notebook, as the grader will (hidden checks run when it "
                    "is graded). " + how,
        epilog="Exit status: 0 when every visible check worth points passes, 1 when one of them fails (so a "
               "CI step or a script can stop on it), 2 when the grader itself could not run.")
    for sub, run in ((grade, _grade), (check, _check)):
        sub.add_argument("notebook", metavar="NOTEBOOK",
                         help="the .ipynb file (any name)" + ("; or a folder of submissions "
                              "(<student>/lab2a/*.ipynb as nbgrader collects them, or *.ipynb), graded in "
                              "parallel into one CSV" if sub is grade else ""))
        sub.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT" + (
            " (with a folder: OUT is a folder, one <student>.json each)" if sub is grade else ""))
        sub.add_argument("--timeout", type=_seconds, default=20.0, metavar="SECONDS",
                         help="time limit of each check, and of each cell (default 20)")
        sub.add_argument("--memory", type=_gibibytes, default=4.0, metavar="GIB",
                         help="memory (address space) limit of the process running the student's code (default 4)")
        sub.set_defaults(run=run)
    check.add_argument("--only", action="append", metavar="CHECK",
                       help="run only this check (repeatable): one legacy GitHub Classroom step per check")
    check.add_argument("--github", action="store_true",
                       help="in a GitHub Actions step: the job summary, annotations and outputs too, and no "
                            "workflow command from the student's text; NOTEBOOK may then be missing (the "
                            "folder's only notebook is graded) or a folder")
    check.set_defaults(only=None)
    grade.set_defaults(only=None, github=False)
    grade.add_argument("--csv", metavar="OUT", help="with a folder: the CSV of per-check points and totals "
                                                    "(default FOLDER/grades.csv)")
    grade.add_argument("--jobs", type=int, default=0, help="with a folder: notebooks graded at once (default: cores)")

    autograde = commands.add_parser(
        "autograde", help="TAs: nbgrader autograde, after making every submission gradeable",
        description="Run from the course folder instead of `nbgrader autograde lab2a`. First every "
                    "submitted/<student>/lab2a/ folder is made gradeable: a renamed notebook is graded as "
                    "lab2a.ipynb (the original stays), and a file nbgrader can't read (invalid JSON, not UTF-8, "
                    "no cells), several candidate notebooks or none are graded 0 through a stand-in notebook "
                    "whose first cell says why (the file sent is kept as lab2a.ipynb.unreadable). Then nbgrader "
                    "autograde runs as usual, in --jobs processes at a time, each with its own copy of the "
                    "gradebook, merged into gradebook.db at the end: the same grades, autograded notebooks and "
                    "export as one nbgrader process gives.",
        epilog="Exit status: 0 when every submission has a graded notebook, 1 when nbgrader left one ungraded "
               "(named on stderr), 2 when it could not start.")
    autograde.add_argument("--student", help="only this student (nbgrader's --student)")
    autograde.add_argument("--force", action="store_true", help="grade again what was graded (nbgrader's --force)")
    autograde.add_argument("--jobs", type=int, default=0,
                           help="students graded at once (default: the machine's cores, at most 8: each nbgrader "
                                "process and its sandbox load torch of their own; 1: one nbgrader process)")
    autograde.set_defaults(run=_autograde)

    report = commands.add_parser(
        "report", help="TAs: what the class got wrong, as one HTML page",
        description="Summarise graded results on one self-contained HTML page: the score distribution, the mean "
                    "per task, per check its pass rate and most common diagnoses with the students who made each, "
                    "the submissions that could not be graded, the slowest, and the environment the grades came "
                    "from. SOURCE is a course folder (its gradebook.db and autograded notebooks) or a folder of "
                    "`lab2a grade --json` results.",
        epilog="Exit status: 0 when the page was written, 2 when SOURCE can't be summarised (one line on stderr "
               "says why).")
    report.add_argument("source", metavar="SOURCE", help="a course folder, or a folder of lab2a grade --json results")
    report.add_argument("out", metavar="OUT.html", help="the page to write")
    report.set_defaults(run=_report)

    demo = commands.add_parser("demo", help="the main job: grade the sample submissions with nbgrader in a demo course",
                               description="Make a demo course from this repository, generate the release, "
                                           "autograde the sample submissions with `lab2a autograde` (nbgrader), "
                                           "write feedback, export grades, print the table. Needs no data set.")
    demo.add_argument("--dir", default="demo", help="the demo course's folder (default: demo/, replaced)")
    demo.set_defaults(run=_demo)

    export = commands.add_parser("export", help="write what a CI platform grades with: GitHub, Classroom 50, "
                                                "Gradescope", description="Write a channel's bundle. Each grades "
                                                "with the same grader as `lab2a grade`.")
    targets = export.add_subparsers(dest="target", required=True, metavar="TARGET")
    github = targets.add_parser("github", help="the student template repository, with a workflow that runs the "
                                               "visible checks on every push",
                                description="The release notebook, the lab2a package without solutions or hidden "
                                            "checks, requirements.txt, setup.sh (installs them with torch's CPU "
                                            "build where there is no NVIDIA GPU) and .github/workflows/lab2a.yml: "
                                            "every push runs the visible checks and answers in a job summary, "
                                            "annotations on the notebook and the job's status.")
    github.add_argument("dir", metavar="DIR", help="the folder to write (replaced if it exists)")
    github.add_argument("--legacy-classroom", action="store_true",
                        help="the retired GitHub Classroom's workflow instead (.github/workflows/classroom.yml): "
                             "the same grading step, then one command-grader step per check and the reporter")
    classroom50 = targets.add_parser("classroom50", help="the Classroom 50 autograder bundle (served publicly: "
                                                         "visible checks only)",
                                     description="DIR/autograder.py grades the student's checkout with the visible "
                                                 "checks and writes result.json and release-body.md, as the "
                                                 "Classroom 50 runner expects.")
    classroom50.add_argument("dir", metavar="DIR", help="the folder to write (replaced if it exists)")
    gradescope = targets.add_parser("gradescope", help="the Gradescope autograder zip (every check, hidden ones "
                                                       "included)",
                                    description="OUT.zip holds setup.sh (a Python environment with CPU torch, the "
                                                "system python3 left alone) and run_autograder (grades the "
                                                "submitted notebook, writes results/results.json).")
    gradescope.add_argument("zip", metavar="OUT.zip", help="the zip file to write (replaced if it exists)")
    gradescope.add_argument("--hidden-visibility", default="after_published",
                            choices=("hidden", "after_due_date", "after_published", "visible"),
                            help="when students see the hidden checks' results (default: after_published)")
    for sub in (github, classroom50, gradescope):
        sub.set_defaults(run=_export, legacy_classroom=False)

    classroom = commands.add_parser("classroom", help="the same as `lab2a export github DIR`",
                                    description="An alias of `lab2a export github DIR`, kept for older instructions.")
    classroom.add_argument("dir", metavar="DIR", help="the folder to write (replaced if it exists)")
    classroom.add_argument("--legacy-classroom", action="store_true", help="as in `lab2a export github`")
    classroom.set_defaults(run=_export, target="github")

    bench = commands.add_parser("bench", help="measure build, notebook, grading and filter speed against our bounds",
                                description="Measure, on this machine, the numbers the project holds itself to "
                                            "(medians over repeated runs) and print them beside their bounds. "
                                            "Takes about 15 minutes with 3 repeats; run it on an idle machine.",
                                epilog="Exit status: 0 when every figure is within its bound, 1 otherwise.")
    bench.add_argument("--json", metavar="OUT", help="also write the figures as a flat JSON object")
    bench.add_argument("--repeats", type=int, default=3, help="runs per figure (default 3); medians are reported")
    bench.add_argument("--only", metavar="GROUPS", help="comma-separated: data, notebook, grading, autograde, class, "
                                                        "mixed, filter, hostile (default: all)")
    bench.set_defaults(run=_bench)
    return top


def main(argv=None) -> int:
    from lab2a.autograder.grading.terminal import filter_terminal

    filter_terminal()  # nothing a student wrote reaches the terminal as a control sequence
    args = parser().parse_args(argv)
    # a TERM (a CI job cancelled, a TA's kill) ends the command as an exit does: temporary folders removed
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    if args.command in ("grade", "check"):
        try:
            return args.run(args)
        except Exception:  # a bug of the grader: never mistaken for a failing check (exit 1)
            import traceback
            traceback.print_exc()
            print(f"lab2a {args.command}: internal error of the grader (above)", file=sys.stderr)
            return 2
    return args.run(args)


def run() -> None:
    """The `lab2a` command: main(), then an exit without the interpreter's teardown (lab2a/quick_exit.py)."""
    from lab2a.quick_exit import quick_exit

    quick_exit(main())


if __name__ == "__main__":
    run()
