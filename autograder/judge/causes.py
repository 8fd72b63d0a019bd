"""Each diagnosis as a short, stable key: what a part that did not pass shows, for counting mistakes across a
class (`lab2a report`) rather than for the student, who reads the message.

A part's message is written for one student (its numbers, its shapes); its key names the mistake only:
"wrap-around", "correlation", "no-zero-grad", "batches-not-on-device", "raised-RuntimeError". The key is found
from the message's fixed texts: the likely causes the judge names (oracle.MISTAKES, training.LOOP_MISTAKES,
training.SUMMARY_MISTAKES, compare.STATE) are matched by their own text, the other messages by the words
that only they use. A message nothing matches is "other" (a fail) or "error" (a part that could not
finish). A part may also give its key itself: Failed(message, cause=key).
"""

import re

from lab2a.autograder.judge.compare import STATE
from lab2a.autograder.judge.oracle import MISTAKES
from lab2a.autograder.judge.training import LOOP_MISTAKES, SUMMARY_MISTAKES


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_FILTER_KEYS = {"reversed taps": "correlation", "rows leak and wrap": "rows-leak",
                "rows of an inner axis leak": "rows-leak", "centred correlation": "centred-correlation"}
_SUMMARY_KEYS = ("epoch-loss-weighted-by-batch-size", "epoch-loss-summed", "epoch-loss-last-batch",
                 "running-mean-not-reset", "running-sum-not-reset")


def _known_texts() -> list[tuple[str, str]]:
    """(a likely cause's text, its key), longest text first (one text may begin another)."""
    texts = {}
    for mistake in MISTAKES:
        texts.setdefault(mistake.cause, _FILTER_KEYS.get(mistake.name, slug(mistake.name)))
    for name, text in LOOP_MISTAKES.items():
        texts.setdefault(text, slug(name))
    for text, key in zip(SUMMARY_MISTAKES, _SUMMARY_KEYS, strict=True):
        texts.setdefault(text, key)
    texts.setdefault(STATE, "state-between-calls")
    return sorted(texts.items(), key=lambda item: -len(item[0]))


KNOWN = _known_texts()

# (key, a pattern only that diagnosis's message has), tried in this order after the known texts.
PATTERNS = [(key, re.compile(pattern)) for key, pattern in (
    ("not-implemented", r"is not implemented yet"),
    ("not-run-after-timeout", r"not run: an earlier part of this check used up its time"),
    ("budget-used-up", r"not run: your notebook used up"),
    ("timeout", r"timed out|did not finish in time"),
    ("exit-called", r"your code called \S+ during this check"),
    ("process-ended", r"process running your code had ended"),
    ("tampered", r"changed the grader's sandbox"),
    ("unreadable-notebook", r"could not be read"),
    ("no-backward", r"never calls loss\.backward\(\)"),
    ("zero-grad-between-backward-and-step", r"zero_grad\(\) is called between loss\.backward\(\) and"),
    ("step-before-backward", r"optimizer\.step\(\) comes before loss\.backward\(\)"),
    ("wrong-number-of-steps", r"optimizer steps where"),
    ("batches-not-on-device", r"batches x that were not moved to the device"),
    ("targets-not-on-device", r"targets y that were not moved to the device"),
    ("estimator-never-called", r"train never called the estimator"),
    ("loss-fn-never-called", r"train never called loss_fn"),
    ("no-return", r"train returned NoneType"),
    ("loss-per-batch", r"values, one per batch"),
    ("wrong-number-of-epochs", r"for \d+ epochs; expected one per epoch"),
    ("returned-non-floats", r"train returned a list of \w+; expected Python floats"),
    ("returned-not-a-list", r"train returned \w+; expected a list"),
    ("epoch-losses-not-means", r"returned values are not the means of each epoch"),
    ("all-zeros", r"your output is all zeros"),
    ("float32-precision", r"float32 precision only"),
    ("scaled-output", r"is the right one times"),
    ("start-not-zero-padded", r"where the filter reaches before the start of the signal"),
    ("wrong-shape", r"expected an output of shape"),
    ("wrong-dtype", r"expected an output of dtype|for a float32 input.*keep the input's dtype"),
    ("not-a-tensor", r"not a torch\.Tensor"),
    ("non-finite-output", r"the output contains (nan|inf|-inf)"),
    ("no-taps-attribute", r"has no attribute `taps`"),
    ("taps-not-the-argument", r"\.taps is "),
    ("no-filter-attribute", r"has no attribute `filter`"),
    ("filter-not-a-parameter", r"\.filter is a \w+, not an nn\.Parameter"),
    ("filter-not-registered", r"\.filter is not among the module's parameters"),
    ("filter-wrong-shape", r"\.filter has shape"),
    ("filter-wrong-dtype", r"\.filter has dtype"),
    ("filter-no-grad", r"requires_grad is False|does not require a gradient"),
    ("changes-input", r"forward changed its input x"),
    ("changes-taps", r"forward changed self\.filter"),
    ("ignores-taps", r"does not change when self\.filter does"),
    ("graph-cut", r"does not depend on self\.filter through torch operations"),
    ("no-gradient", r"no gradient reached self\.filter"),
    ("zero-gradient", r"the gradient is zero"),
    ("filter-not-moved", r"self\.filter is still on"),
    ("checks-meta-device", r"x\.is_meta"),
    ("fails-off-cpu", r"fails on a device other than the CPU"),
    ("pinned-to-cpu", r"ties it to the CPU|meets the input, on another device"),
    ("output-on-wrong-device", r"returned its output on \S+, not on"),
    ("no-gpu", r"no GPU on this machine"),
    ("wrong-output", r"no common mistake matches"),
    ("undefined-name", r"name '\w+' is not defined"),
    ("raised", r" raised (\w+)|failed with (\w+)"),
)]


def cause_of(message: str, status: str = "fail") -> str:
    """The key of the diagnosis a message gives (status: the part's, "fail" or "error")."""
    likely = message.split("Likely cause: ", 1)[-1]
    for text, key in KNOWN:
        if text in likely:
            return key
    for key, pattern in PATTERNS:
        found = pattern.search(message)
        if found:
            if key == "raised":
                return f"raised-{found.group(1) or found.group(2)}"
            return key
    return "error" if status == "error" else "other"
