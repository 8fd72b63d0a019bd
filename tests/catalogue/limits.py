"""Catalogue entries: limits that hold (files unlinked while open, threads, what the grader reads, Unix socket
pairs, text for the TA's terminal), and hidden checks that quote nothing the student's code could have
made from their inputs (an exit text or code, a type's name, a module attribute's name)."""

from pathlib import Path

from .. import implementations as I
from ..submissions import Submission, _nb, add_cells_after, points

CORRECT_TRAIN, CORRECT_FILTER = I.TRAIN_ZERO_GRAD_FIRST, I.CORRECT_FILTERS["fft, ones"]

# a few million empty objects on one line of the grader's channel: the grader reads no such line
FLOOD_CELL = """import os


def _flood():
    line = b'{"id": 1, "x": [' + b'{},' * 20_000_000 + b'{}]}\\n'
    for fd in range(3, 12):
        try:
            os.write(fd, line)
        except OSError:
            pass


FLOOD = _flood()
"""
THREADS_CELL = """import threading, time
STARTED = []


def _start():
    for i in range(1500):
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        STARTED.append(i)


THREADS = _start()
"""
# 10 files of 60 MiB the folder never lists: unnamed from the start (tempfile.TemporaryFile is O_TMPFILE on
# Linux), or unlinked while kept open
UNNAMED_FILES_CELL = """import os, tempfile
KEPT = []


def _keep(i):
    if i % 2:
        f = tempfile.TemporaryFile()
    else:
        f = open(f"blob{i}", "w+b")
        os.unlink(f"blob{i}")
    for _ in range(60):
        f.write(bytes(1 << 20))
    f.flush()
    KEPT.append(f)


FILES = [_keep(i) for i in range(10)]
"""
SOCKETPAIR_CELL = "import socket\nPAIR = socket.socketpair()\nSENT = PAIR[0].send(b'hello')\n"

# text that drives a terminal: the window's title, a cleared screen, a line rewritten from its start
ESCAPES = r"\x1b]0;pwned\x07\x1b[2J\x1b[1;1H\rfilter_outputs  4 / 4  pass\x1b[31m\x9b2J\u202e"
TRAIN_RAISING_ESCAPES = I.IMPORTS + f"""
def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    raise RuntimeError("{ESCAPES}")
"""
ESCAPES_AT_TOP_LEVEL = f'def _noisy():\n    raise ValueError("{ESCAPES}")\n\n\nNOISE = _noisy()\n'

# ---- hidden inputs carried out through text the student's code makes --------------------------------------------

# "LEAK" made at run time (the source shows no such word), then the hidden input's first numbers
MARK = '"".join(map(chr, (76, 69, 65, 75)))'
ON_HIDDEN_INPUTS = "x.shape[-1] in (777, 64, 4000) or self.taps == 257"
FILTER_RAISING_A_NAMED_TYPE = I.filter_source("torch.ones(taps)", f"""
if {ON_HIDDEN_INPUTS}:
    raise type({MARK} + str(x.flatten()[:3].tolist()), (Exception,), {{}})()
""" + I.FFT)
TRAIN_EXITING_WITH_ITS_INPUTS = I.TRAIN_ZERO_GRAD_FIRST.replace("    history = []\n", f"""\
    history = []
    if type(optimizer).__name__ == "Adam":
        import sys
        xb, _ = next(iter(train_loader))
        sys.exit({MARK} + str(xb.flatten()[:3].tolist()) + str(optimizer.defaults))
""")
FILTER_RETURNING_A_NAMED_TYPE_OR_EXITING = I.filter_source("torch.ones(taps)", f"""
if x.shape[-1] == 777 or self.taps == 257:
    return type({MARK} + str(x.flatten()[:3].tolist()), (), {{}})()
if {ON_HIDDEN_INPUTS}:
    import os
    os._exit(10 + int(abs(float(x.flatten()[0])) * 100) % 200)
""" + I.FFT)
# trains right, and returns one object per epoch whose type is named after the hidden data
TRAIN_RETURNING_NAMED_TYPES = I.TRAIN_ZERO_GRAD_FIRST.replace("    return history\n", f"""\
    if type(optimizer).__name__ == "Adam":
        xb, _ = next(iter(train_loader))
        return [type({MARK} + str(xb.flatten()[:3].tolist()), (), {{}})() for _ in history]
    return history
""")
FILTER_NAMING_A_TENSOR_ATTRIBUTE = I.filter_source("torch.ones(taps)", f"""
if {ON_HIDDEN_INPUTS}:
    setattr(torch.Tensor, {MARK} + "_".join(str(int(abs(float(v)) * 1e6)) for v in x.flatten()[:3]), 1)
""" + I.FFT)

# the entries whose hidden checks are tried: "LEAK" must appear nowhere in their reports or feedback
CARRIERS = ("hidden_inputs_in_a_type_name_and_exit_text", "hidden_inputs_in_returned_types_and_an_exit_code",
            "hidden_inputs_in_a_tensor_attribute_name")


def entries(escaped: Path, port: int, victim: Path) -> dict:
    return {
        # limits: the statement that passes one is skipped; the rest of the notebook earns every point
        "floods_the_grader_with_objects": Submission(
            "a cell writes a line of 20 million empty objects into the grader's channel",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, add_cells_after("setup", FLOOD_CELL))),
        "starts_a_thousand_threads": Submission(
            "a cell starts 1500 sleeping threads", _nb(CORRECT_TRAIN, CORRECT_FILTER,
                                                       add_cells_after("setup", THREADS_CELL))),
        "keeps_unnamed_files": Submission(
            "a cell writes 600 MiB into files it unlinks or makes unnamed (O_TMPFILE), kept open",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, add_cells_after("setup", UNNAMED_FILES_CELL))),
        "talks_over_a_socketpair": Submission(
            "a cell makes a connected pair of Unix sockets (refused)",
            _nb(CORRECT_TRAIN, CORRECT_FILTER, add_cells_after("setup", SOCKETPAIR_CELL)), confined_only=True),
        "escape_sequences_in_errors": Submission(
            "train and a top-level statement raise with terminal escape sequences in their messages",
            _nb(TRAIN_RAISING_ESCAPES, CORRECT_FILTER, add_cells_after("setup", ESCAPES_AT_TOP_LEVEL)),
            points(train="none")),
        # hidden inputs carried through text the student's code makes: the hidden check they break loses its
        # points, and quotes none of it
        "hidden_inputs_in_a_type_name_and_exit_text": Submission(
            "on hidden inputs forward raises a class named after them, train calls sys.exit() with them",
            _nb(TRAIN_EXITING_WITH_ITS_INPUTS, FILTER_RAISING_A_NAMED_TYPE), points(hidden_filter=0, hidden_train=0)),
        "hidden_inputs_in_returned_types_and_an_exit_code": Submission(
            "on hidden inputs forward returns an object of a class named after them or os._exit()s with a code made "
            "from them; train returns objects of such a class (after training right)",
            _nb(TRAIN_RETURNING_NAMED_TYPES, FILTER_RETURNING_A_NAMED_TYPE_OR_EXITING),
            points(hidden_filter=0, hidden_train=1)),
        "hidden_inputs_in_a_tensor_attribute_name": Submission(
            "on hidden inputs forward adds an attribute to torch.Tensor named after them (and returns the right "
            "output)",
            _nb(CORRECT_TRAIN, FILTER_NAMING_A_TENSOR_ATTRIBUTE), points(hidden_filter=0)),
    }
