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

from lab2a.autograder.channels import samples
from lab2a.autograder.channels.nbgrader import course as nbgrader_course

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE = REPOSITORY / "source" / "lab2a" / "lab2a.ipynb"
RELEASE = REPOSITORY / "release" / "lab2a" / "lab2a.ipynb"

# key: (bound, what it measures); every value is "lower is better"
BOUNDS = {
    "data_build_seconds": (30, "the 1500-clip default build"),
    "notebook_seconds": (180, "the source notebook top to bottom, default data"),
    "grade_seconds": (8, "lab2a grade, one perfect submission (a fresh process: sandbox start included)"),
    "autograde_seconds": (15, "lab2a autograde (nbgrader autograde), one perfect submission"),
    "filter_vs_fft": (2.0, "reference filter forward+backward / FFT convolution's (B=16, N=32000, K=81)"),
    "learned_over_optimal_mse": (1.25, "notebook recipe's test MSE / least-squares 81-tap filter's"),
    "batch_grade_seconds_per_submission": (10, "lab2a grade FOLDER of 8 submissions, divided by 8"),
    "gradescope_seconds": (30, "the Gradescope zip's run_autograder, one perfect submission, every check"),
    "gradescope_peak_mib": (1536, "its peak memory: all its processes' proportional set sizes (shared pages "
                                  "once, as a container's limit counts them)"),
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


def peak_memory(command, **kwargs) -> tuple[float, float]:
    """Run a command; (seconds, peak MiB of the sum of its process tree's proportional set sizes, sampled
    every 20 ms)."""
    import psutil  # (ipykernel's dependency)

    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        total = 0
        try:
            for member in [root, *root.children(recursive=True)]:
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


def notebook_run(data: Path, scratch: Path) -> tuple[float, float]:
    """(seconds, learned/optimal test MSE) of the source notebook run as a student runs it."""
    import nbclient

    scratch.mkdir(parents=True, exist_ok=True)
    env = nbgrader_course.environment(scratch)
    env["LAB2A_DATA"] = str(data)
    notebook = nbformat.read(SOURCE, as_version=4)
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


def measure(repeats: int = 3, say=print) -> dict:
    runs = {key: [] for key in BOUNDS}
    with tempfile.TemporaryDirectory(prefix="lab2a-bench-") as folder:
        folder = Path(folder)
        data = folder / "data.pt"
        say("data build ...")
        for _ in range(repeats):
            runs["data_build_seconds"].append(_timed(_lab2a("data", "--out", data, "--quiet")))

        say("notebook ...")
        for i in range(repeats):
            seconds, ratio = notebook_run(data, folder / f"notebook{i}")
            runs["notebook_seconds"].append(seconds)
            runs["learned_over_optimal_mse"].append(ratio)

        say("grading ...")
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

        say("nbgrader autograde ...")
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

        say("filter ...")
        ratios, loops = [], []
        for _ in range(repeats):
            t = filter_timings()
            ratios.append(t["reference"] / t["fft"])
            loops.append(t["per_tap_loop"] / t["fft"])
        runs["filter_vs_fft"] = ratios
    results = {key: statistics.median(values) for key, values in runs.items()}
    results["naive_loop_vs_fft"] = statistics.median(loops)  # for the README: what a per-tap loop costs
    return results


def table(results: dict) -> str:
    lines = [f"{'measure':38s}{'median':>10s}{'bound':>8s}  ok  what"]
    for key, (bound, what) in BOUNDS.items():
        value = results[key]
        lines.append(f"{key:38s}{value:10.3g}{bound:8g}  {'yes' if value <= bound else 'NO ':3s} {what}")
    lines.append(f"{'naive_loop_vs_fft':38s}{results['naive_loop_vs_fft']:10.3g}{'':8s}       "
                 "a per-tap loop of shifted slices / FFT convolution (for comparison)")
    return "\n".join(lines)


def run(out: Path | None, repeats: int) -> int:
    results = measure(repeats, say=lambda text: print(text, file=sys.stderr))
    print(table(results))
    if out:
        out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(results[k] <= bound for k, (bound, _) in BOUNDS.items()) else 1
