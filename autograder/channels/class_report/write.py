"""`lab2a report SOURCE OUT.html`: load, summarise, render, written whole."""

from pathlib import Path

from lab2a.autograder.channels.class_report.load import load
from lab2a.autograder.channels.class_report.page import render
from lab2a.autograder.channels.class_report.summary import Summary, summarise
from lab2a.autograder.grading.report import write_whole


def write(source: Path, out: Path) -> Summary:
    """The class report of source (load.load) at out; BadInput when source can't be summarised."""
    summary = summarise(load(source))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_whole(out, render(summary, str(source)))
    return summary
