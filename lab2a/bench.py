"""`lab2a bench`: the numbers this project holds itself to, measured in one run on this machine.

Each figure is the median over `repeats` runs. Whole commands are timed as users run them (a fresh
process each time); the filter is timed in this process, against an FFT convolution on the same input.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch

from lab2a import samples
from lab2a.autograder.channels.nbgrader import course as nbgrader_course
from lab2a.autograder.checks.manifest import ANSWERS
from lab2a.autograder.grading.layout import grade_id

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE = REPOSITORY / "source" / "lab2a" / "lab2a.ipynb"
RELEASE = REPOSITORY / "release" / "lab2a" / "lab2a.ipynb"

CLASS_SIZE = 40   # submissions in the class graded with --jobs 1 and --jobs 2
# A class as a course meets one: honest notebooks and mistakes beside slow, crashing and hostile ones (from the
# test catalogue, tests/submissions.py), graded with a 6 s limit per step as the catalogue's tests grade them.
MIXED_CLASS = (
    "reference_solution", "loop_and_zero_grad_first", "conv1d_magic_no_metadata_renamed", "float64_parameter",
    "tqdm_auto_loop", "peeking_loop", "logging_and_prints", "train_redefined_after_its_tests", "deleted_test_cell",
    "blank", "filter_only", "no_zero_grad", "wraps_around", "stateful_filter", "flips_its_taps", "joins_inner_rows",
    "helper_cell_with_a_failing_assert", "slow_definition_beside_quick_ones", "bare_except_around_a_slow_loop",
    "endless_forward", "huge_allocations", "a_thread_left_running", "starts_many_threads", "spawns_survivors",
    "os_exit_in_forward", "segfault_after_train", "megabytes_printed", "writes_into_the_grader_pipes",
    "forges_a_progress_message", "prints_the_hidden_checks", "torch_compile", "twenty_thousand_failing_statements")
MIXED_TIMEOUT = 6

# key: (bound, what it measures); every value here is "lower is better", at most its bound
BOUNDS = {
    "data_build_seconds": (30, "the 1500-clip default build"),
    "notebook_seconds": (180, "a finished notebook (release + reference answers) top to bottom, default data"),
    "grade_seconds": (8, "lab2a grade, one perfect submission (a fresh process: sandbox start included)"),
    "autograde_seconds": (15, "lab2a autograde (nbgrader autograde), one perfect submission"),
    "validate_seconds": (10, "nbgrader validate (the Assignments tab's Validate runs the same), one perfect "
                             "submission: the visible checks, sandboxed (a fresh process: sandbox start included)"),
    "filter_vs_fft": (2.0, "reference filter forward+backward / FFT convolution's (B=16, N=32000, K=81)"),
    "learned_over_optimal_mse": (1.05, "notebook recipe's test MSE / least-squares 81-tap filter's"),
    "batch_grade_seconds_per_submission": (10, "lab2a grade FOLDER of 8 submissions, divided by 8"),
    "gradescope_seconds": (30, "the Gradescope zip's run_autograder, one perfect submission, every check"),
    "gradescope_peak_mib": (1536, "its peak memory: all its processes' proportional set sizes (shared pages "
                                  "once, as a container's limit counts them)"),
    "class_autograde_seconds_per_submission_jobs1": (5, f"lab2a autograde --jobs 1 of {CLASS_SIZE} sample submissions, "
                                                        f"divided by {CLASS_SIZE}"),
    "class_autograde_seconds_per_submission_jobs2": (3, "the same class with --jobs 2 (the same export, checked)"),
    "mixed_class_seconds_per_submission_jobs1": (15, f"lab2a autograde --jobs 1 of {len(MIXED_CLASS)} catalogue "
                                                     f"submissions, honest to hostile, {MIXED_TIMEOUT} s a step"),
    "mixed_class_seconds_per_submission_jobs2": (10, "the same class with --jobs 2 (the same export, checked)"),
    "hostile_grader_peak_mib": (768, "lab2a grade's own process (the grader, not the student's), its peak proportional "
                                     "set size on the catalogue's hostile submissions heaviest for it (the worst)"),
}
# key: (floor, what it measures); "higher is better", at least its floor
FLOORS = {
    "class_autograde_speedup_jobs2": (1.8, "lab2a autograde: --jobs 1's time / --jobs 2's on that class"),
    "mixed_class_speedup_jobs2": (1.5, "the same on the mixed class"),
}


def reference_solutions():
    """The repository's solutions/ package (not part of the installed lab2a: it is the answer key)."""
    if str(REPOSITORY) not in sys.path:
        sys.path.insert(0, str(REPOSITORY))
    import solutions
    return solutions


def _timed(command, **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - started


def _lab2a(*args) -> list:
    return [sys.executable, "-m", "lab2a.cli", *map(str, args)]


def _fft_convolution(x, h):
    """The plain FFT convolution the reference filter is compared with."""
    n, size = x.shape[-1], x.shape[-1] + h.shape[0] - 1
    return torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(h, size), size)[..., :n]


def _per_tap_loop(x, h):
    """The naive filter: one shifted, zero-filled copy of x per tap."""
    y = h[0] * x
    for k in range(1, h.shape[0]):
        y = y + h[k] * torch.nn.functional.pad(x, (k, 0))[..., :x.shape[-1]]
    return y


def filter_timings(iterations: int = 20) -> dict:
    """Seconds per forward+backward of the reference filter, an FFT convolution and a per-tap loop."""
    ConvolutionalFilter = reference_solutions().ConvolutionalFilter

    torch.manual_seed(0)
    x = torch.randn(16, 1, 32000)
    reference = ConvolutionalFilter(81)
    h = torch.randn(81, requires_grad=True)
    with torch.no_grad():
        reference.filter.copy_(h)
    timings = {}
    for name, run in (("reference", lambda: reference(x)), ("fft", lambda: _fft_convolution(x, h)),
                      ("per_tap_loop", lambda: _per_tap_loop(x, h))):
        for _ in range(3):
            run().sum().backward()  # warm-up
        started = time.perf_counter()
        for _ in range(iterations):
            run().sum().backward()
        timings[name] = (time.perf_counter() - started) / iterations
    return timings


def peak_memory(command, tree: bool = True, **kwargs) -> tuple[float, float]:
    """Run a command; (seconds, peak MiB of the sum of its process tree's proportional set sizes, sampled
    every 20 ms; tree=False: of its own process only)."""
    import psutil  # (ipykernel's dependency)

    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        total = 0
        try:
            for member in [root, *(root.children(recursive=True) if tree else [])]:
                try:
                    total += member.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        except psutil.NoSuchProcess:
            break
        peak = max(peak, total)
        time.sleep(0.02)
    if process.wait() != 0:
        raise RuntimeError(f"{command[0]} failed")
    return time.perf_counter() - started, peak / 2 ** 20


def gradescope_run(folder: Path, perfect: Path) -> tuple[float, float]:
    """The exported zip, unpacked as Gradescope does (AUTOGRADER_ROOT=folder), this environment as its venv:
    run_autograder on a perfect submission. (seconds, peak MiB)."""
    import shutil
    import zipfile

    from lab2a.autograder.channels import gradescope

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "submission").mkdir(parents=True)
    with zipfile.ZipFile(gradescope.export(REPOSITORY, folder / "autograder.zip")) as archive:
        archive.extractall(folder / "source")
    (folder / "venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    shutil.copy(perfect, folder / "submission" / "lab2a.ipynb")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    seconds, peak = peak_memory(["bash", str(folder / "source" / "run_autograder")], cwd=folder,
                                env={**environment, "AUTOGRADER_ROOT": str(folder), "LAB2A_SANDBOX_USER": "nobody"})
    scores = json.loads((folder / "results" / "results.json").read_text())["tests"]
    if sum(t["score"] for t in scores) != sum(t["max_score"] for t in scores):
        raise RuntimeError("run_autograder did not give the perfect submission every point")
    return seconds, peak


# The catalogue's hostile submissions that weigh most on the grader's own memory: a line of 20 million empty
# objects written into its channel, megabytes printed, huge allocations, 600 MiB of unnamed files.
HOSTILE = ("floods_the_grader_with_objects", "megabytes_printed", "huge_allocations", "keeps_unnamed_files")


def hostile_peaks(folder: Path) -> dict:
    """{submission: peak MiB of lab2a grade's own process while it grades that hostile submission}."""
    if str(REPOSITORY) not in sys.path:
        sys.path.insert(0, str(REPOSITORY))
    try:
        from tests.submissions import catalogue
    except ImportError as error:
        raise RuntimeError(f"the hostile submissions are the test suite's catalogue, which needs the test extras "
                           f"(pip install -e '.[test]'): {error}") from None
    entries = catalogue(folder / "escaped.txt", 9, folder / "victim.txt")
    peaks = {}
    for name in HOSTILE:
        entries[name].build(folder / name)
        _, peaks[name] = peak_memory(_lab2a("grade", folder / name / "lab2a.ipynb", "--json", folder / f"{name}.json"),
                                     tree=False, cwd=REPOSITORY)
    return peaks


def notebook_run(data: Path, scratch: Path) -> tuple[float, float]:
    """(seconds, learned/optimal test MSE) of a student's finished notebook (the release with the reference
    answers pasted in: its visible checks run too) run top to bottom in a new kernel, as `jupyter nbconvert
    --execute` or Restart & Run All runs it."""
    import nbclient

    scratch.mkdir(parents=True, exist_ok=True)
    env = nbgrader_course.environment(scratch)
    env["LAB2A_DATA"] = str(data)
    notebook = samples.build(RELEASE, SOURCE, "perfect")
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        started = time.perf_counter()
        nbclient.NotebookClient(notebook, timeout=900, resources={"metadata": {"path": str(scratch)}}).execute()
        seconds = time.perf_counter() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    return seconds, float(text.split("learned / optimal test MSE:")[1].split()[0])


def class_autograde(folder: Path, jobs: int, size: int = CLASS_SIZE) -> tuple[float, str]:
    """A class of `size` sample submissions (the demo's samples in turn) in a new course, graded by
    `lab2a autograde --jobs J` run as a TA runs it. (seconds, `nbgrader export`'s CSV)."""
    course = nbgrader_course.new_course(REPOSITORY, folder)
    nbgrader_course.nbgrader(course, "generate_assignment", "lab2a")
    names = list(samples.SAMPLES)
    for i in range(size):
        student = course / "submitted" / f"s{i:03d}_{names[i % len(names)]}" / "lab2a"
        student.mkdir(parents=True)
        nbformat.write(samples.build(RELEASE, SOURCE, names[i % len(names)]), student / "lab2a.ipynb")
    return _autograde_class(course, folder, jobs)


def mixed_class_autograde(folder: Path, jobs: int) -> tuple[float, str]:
    """MIXED_CLASS, built by the test catalogue (the repository's tests/), graded as class_autograde grades."""
    reference_solutions()   # (puts the repository on sys.path: the catalogue lives in its tests/)
    from tests import submissions

    course = nbgrader_course.new_course(REPOSITORY, folder, f"c.GradeInSandbox.timeout = {MIXED_TIMEOUT}")
    nbgrader_course.nbgrader(course, "generate_assignment", "lab2a")
    catalogue = submissions.catalogue(folder / "escaped.txt", 9, folder / "victim.txt")   # (port 9: discard)
    for name in MIXED_CLASS:
        catalogue[name].build(course / "submitted" / name / "lab2a")
    return _autograde_class(course, folder, jobs)


def _autograde_class(course: Path, folder: Path, jobs: int) -> tuple[float, str]:
    seconds = _timed(_lab2a("autograde", "--jobs", jobs), cwd=course, env=nbgrader_course.environment(folder / ".s"))
    nbgrader_course.nbgrader(course, "export")
    return seconds, (course / "grades.csv").read_text()


def _data(runs, folder, repeats, say):
    for _ in range(repeats):
        runs["data_build_seconds"].append(_timed(_lab2a("data", "--out", folder / "data.pt", "--quiet")))


def _notebook(runs, folder, repeats, say):
    if not (folder / "data.pt").exists():
        subprocess.run(_lab2a("data", "--out", folder / "data.pt", "--quiet"), check=True)
    for i in range(repeats):
        seconds, ratio = notebook_run(folder / "data.pt", folder / f"notebook{i}")
        runs["notebook_seconds"].append(seconds)
        runs["learned_over_optimal_mse"].append(ratio)


def _grading(runs, folder, repeats, say):
    perfect = folder / "perfect.ipynb"
    nbformat.write(samples.build(RELEASE, SOURCE, "perfect"), perfect)
    for _ in range(repeats):
        runs["grade_seconds"].append(_timed(_lab2a("grade", perfect, "--json", folder / "grade.json")))
    batch = folder / "batch"
    for i, name in enumerate(list(samples.SAMPLES)[:8]):
        path = batch / f"{i}_{name}.ipynb"
        path.parent.mkdir(exist_ok=True)
        nbformat.write(samples.build(RELEASE, SOURCE, name), path)
    for _ in range(repeats):
        runs["batch_grade_seconds_per_submission"].append(
            _timed(_lab2a("grade", batch, "--csv", folder / "batch.csv")) / 8)
    say("Gradescope's run_autograder ...")
    for i in range(repeats):
        seconds, peak = gradescope_run(folder / f"gradescope{i}", perfect)
        runs["gradescope_seconds"].append(seconds)
        runs["gradescope_peak_mib"].append(peak)


def _autograde(runs, folder, repeats, say):
    course = nbgrader_course.new_course(REPOSITORY, folder / "course")
    nbgrader_course.nbgrader(course, "generate_assignment", "lab2a")
    for i in range(repeats):
        student = course / "submitted" / f"perfect{i}" / "lab2a"
        student.mkdir(parents=True)
        nbformat.write(samples.build(RELEASE, SOURCE, "perfect"), student / "lab2a.ipynb")
        started = time.perf_counter()
        result, _, ungraded = nbgrader_course.autograde(course, f"perfect{i}")  # as `lab2a autograde` runs it
        runs["autograde_seconds"].append(time.perf_counter() - started)
        if result.returncode or ungraded:
            raise RuntimeError(f"autograde failed:\n{result.stderr[-3000:]}")
    answered = samples.build(RELEASE, SOURCE, "perfect")
    for cell in answered.cells:
        if grade_id(cell) in {answer.name for answer in ANSWERS}:
            cell.source = "An answer."   # (an unanswered question fails Validate, as nbgrader decides)
    nbformat.write(answered, folder / "validate.ipynb")
    for _ in range(repeats):
        started = time.perf_counter()
        said = nbgrader_course.nbgrader(course, "validate", str(folder / "validate.ipynb")).stdout
        runs["validate_seconds"].append(time.perf_counter() - started)
        if not said.startswith("Success!"):
            raise RuntimeError(f"nbgrader validate failed the reference notebook:\n{said[-3000:]}")


def _serial_and_parallel(runs, graded, prefix: str, size: int, repeats: int) -> None:
    """graded(folder, jobs) -> (seconds, export), with --jobs 1 and --jobs 2: the same export, and each time ÷ size."""
    for i in range(repeats):
        serial, serial_export = graded(f"{i}-1", 1)
        parallel, parallel_export = graded(f"{i}-2", 2)
        if parallel_export != serial_export:
            raise RuntimeError(f"lab2a autograde --jobs 2 exported other grades than --jobs 1 ({prefix})")
        runs[f"{prefix}_seconds_per_submission_jobs1"].append(serial / size)
        runs[f"{prefix}_seconds_per_submission_jobs2"].append(parallel / size)
        runs[f"{prefix}_speedup_jobs2"].append(serial / parallel)


def _class(runs, folder, repeats, say):
    _serial_and_parallel(runs, lambda name, jobs: class_autograde(folder / f"class{name}", jobs), "class_autograde",
                         CLASS_SIZE, repeats)


def _mixed(runs, folder, repeats, say):
    _serial_and_parallel(runs, lambda name, jobs: mixed_class_autograde(folder / f"mixed{name}", jobs), "mixed_class",
                         len(MIXED_CLASS), repeats)


def _filter(runs, folder, repeats, say):
    ratios, loops = [], []
    for _ in range(repeats):
        t = filter_timings()
        ratios.append(t["reference"] / t["fft"])
        loops.append(t["per_tap_loop"] / t["fft"])
    runs["filter_vs_fft"] = ratios
    runs["naive_loop_vs_fft"] = loops   # for the README: what a per-tap loop costs


def _hostile(runs, folder, repeats, say):
    for i in range(repeats):
        peaks = hostile_peaks(folder / f"hostile{i}")
        say("  " + ", ".join(f"{name} {peak:.0f} MiB" for name, peak in peaks.items()))
        runs["hostile_grader_peak_mib"].append(max(peaks.values()))


GROUPS = {"data": _data, "notebook": _notebook, "grading": _grading, "autograde": _autograde, "class": _class,
          "mixed": _mixed, "filter": _filter, "hostile": _hostile}


def measure(repeats: int = 3, say=print, only: list[str] | None = None) -> dict:
    """{figure: median} of the groups asked for (all by default)."""
    runs = {key: [] for key in [*BOUNDS, *FLOORS, "naive_loop_vs_fft"]}
    with tempfile.TemporaryDirectory(prefix="lab2a-bench-") as folder:
        for name in only or GROUPS:
            say(f"{name} ...")
            GROUPS[name](runs, Path(folder), repeats, say)
    return {key: statistics.median(values) for key, values in runs.items() if values}


def within(key: str, value: float) -> bool:
    return value <= BOUNDS[key][0] if key in BOUNDS else value >= FLOORS[key][0]


def table(results: dict) -> str:
    """One line per figure measured: its median, its bound (<= a ceiling, >= a floor), whether it holds."""
    lines = [f"{'measure':46s}{'median':>10s}{'bound':>9s}  ok  what"]
    for key, (bound, what) in {**BOUNDS, **FLOORS}.items():
        if key in results:
            sign, ok = "<=" if key in BOUNDS else ">=", "yes" if within(key, results[key]) else "NO "
            lines.append(f"{key:46s}{results[key]:10.3g}{sign:>3s}{bound:<6g}  {ok} {what}")
    if "naive_loop_vs_fft" in results:
        lines.append(f"{'naive_loop_vs_fft':46s}{results['naive_loop_vs_fft']:10.3g}{'':9s}       "
                     "a per-tap loop of shifted slices / FFT convolution (for comparison)")
    return "\n".join(lines)


def run(out: Path | None, repeats: int, only: list[str] | None = None) -> int:
    results = measure(repeats, say=lambda text: print(text, file=sys.stderr), only=only)
    print(table(results))
    if out:
        out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(within(key, value) for key, value in results.items() if key in BOUNDS or key in FLOORS) else 1
