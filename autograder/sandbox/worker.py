"""The isolated runner's worker: `python -m lab2a.autograder.sandbox.worker --fd N --memory BYTES`.

A separate process, started by isolate.py, that runs the student's code. After its imports it says it is
ready, then reads a job (JSON on stdin: the cells to run and the checks to probe), and sends one message
per step over the pipe at file descriptor N, in the format of transport.py:

    {"ready": true, "confinement": "..."}   after its imports and its confinement (confine.py: files may be
                                            written only in its folder), before the job and any student code
    {"cell": i, "ok": true}                 per cell, or {"cell": i, "ok": false, "message": "..."}
    {"check": name, "data": {...}}          per check: the probe's plain data, or one of
    {"check": name, "error": {...}}           the student's code raised (StudentError's fields)
    {"check": name, "exit": "..."}            the student's code called sys.exit()
    {"check": name, "raised": {...}}          another exception escaped the probe
    {"check": name, "unsendable": "..."}      the data could not be encoded or is too large
    {"done": true}

The student's prints go to this process's stdout/stderr, which the grader drains separately. The
grader judges the data in its own process; nothing here decides a score.
"""

import argparse
import os
import resource
import signal
import sys
import traceback


def _limit(which, value: int) -> None:
    try:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, hard))
    except (ValueError, OSError):  # a platform without this limit: the grader's timeout still applies
        pass


class Channel:
    """Writes whole messages to the result pipe. Holds its own references to what it uses, so a
    submission that replaces os.write or json functions can't break the messages by accident."""

    def __init__(self, fd: int, encode, max_bytes: int):
        self.fd, self.encode, self.max_bytes = fd, encode, max_bytes
        self._write = os.write

    def send(self, message: dict) -> None:
        data = self.encode(message)
        view = memoryview(data)
        while view:
            written = self._write(self.fd, view)
            view = view[written:]

    def send_check(self, name: str, message: dict) -> None:
        try:
            data = self.encode(message)
        except (TypeError, ValueError, OverflowError, RecursionError) as error:
            data = self.encode({"check": name, "unsendable": f"the check's data could not be encoded ({error})"})
        except MemoryError:
            data = self.encode({"check": name, "unsendable": "the check's data is too large to send (out of memory)"})
        if len(data) > self.max_bytes:
            data = self.encode({"check": name, "unsendable": f"the check's data is {len(data) / 1e6:.0f} MB, over the "
                                                             f"{self.max_bytes / 1e6:.0f} MB the grader accepts"})
        view = memoryview(data)
        while view:
            view = view[self._write(self.fd, view):]


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def _line_in(tb, filename: str) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == filename:
            line = lineno
    return line


def _exit_text(error: SystemExit) -> str:
    return f"sys.exit({error.code!r})" if error.code is not None else "sys.exit()"


def run_cell(source: str, label: str, filename: str, namespace: dict) -> dict:
    """Execute one cell; what went wrong, if anything, in the student's words."""
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as error:
        where = f" at line {error.lineno}" if error.lineno else ""
        text = f", in `{error.text.strip()[:120]}`" if error.text and error.text.strip() else ""
        return {"ok": False, "message": f"{label} has a {type(error).__name__}{where} ({error.msg}){text}: "
                                        f"it did not run, so nothing it defines exists."}
    except (ValueError, MemoryError, RecursionError) as error:
        return {"ok": False, "message": f"{label} could not be compiled: {type(error).__name__}: {error}"}
    try:
        exec(code, namespace)
    except SystemExit as error:
        return {"ok": False, "message": f"{label} called {_exit_text(error)}: the grader stopped the cell there; "
                                        f"only what it defined before that line exists."}
    except BaseException as error:
        line = _line_in(error.__traceback__, filename)
        where = f" at line {line}" if line else ""
        said = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        return {"ok": False, "message": f"{label} raised {type(error).__name__}{where}" + (f": {said}" if said else "")
                                        + ". Only what it defined before that line exists."}
    return {"ok": True}


def probe(name: str, namespace: dict, registry, StudentError) -> dict:
    try:
        data = registry.run_probe(name, namespace)
    except StudentError as error:
        return {"check": name, "error": {"where": str(error.where), "kind": str(error.kind), "text": str(error.text)[:2000],
                                         "detail": str(error.detail)}}
    except SystemExit as error:
        return {"check": name, "exit": _exit_text(error)}
    except BaseException as error:
        return {"check": name, "raised": {"kind": type(error).__name__, "text": str(error)[:2000]}}
    return {"check": name, "data": data}


def main(argv=None) -> None:
    options = argparse.ArgumentParser(prog="python -m lab2a.autograder.sandbox.worker")
    options.add_argument("--fd", type=int, required=True, help="the result pipe's file descriptor")
    options.add_argument("--memory", type=int, default=4 << 30, help="address-space limit in bytes")
    options.add_argument("--max-message", type=int, default=64 << 20)
    args = options.parse_args(argv)

    _limit(resource.RLIMIT_AS, args.memory)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, 256 << 20)  # files the student's code writes
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # too large a file: an OSError, not a killed process
    os.set_inheritable(args.fd, False)  # processes the student's code starts don't get the channel

    import json
    import random

    import numpy as np
    import torch
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    from lab2a.autograder.sandbox import prelude

    from lab2a.autograder.checks import registry

    from lab2a.autograder.sandbox import transport
    from lab2a.autograder.sandbox.confine import confine
    from lab2a.autograder.judge.verdict import StudentError

    channel = Channel(args.fd, transport.encode, args.max_message)
    channel.send({"ready": True, "confinement": confine(os.getcwd())})
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))  # blocks until the grader hands out the job
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)

    namespace = prelude.namespace()
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    for index, cell in enumerate(job["cells"]):
        result = run_cell(cell["source"], cell["label"], f"<cell {cell['name']}>", namespace)
        _flush()
        channel.send({"cell": index, **result})
    for name in job["checks"]:
        message = probe(name, namespace, registry, StudentError)
        _flush()
        channel.send_check(name, message)
    channel.send({"done": True})
    _flush()
    os._exit(0)  # no atexit handlers or finalizers the student's code may have registered


if __name__ == "__main__":
    main()
