"""The end of a command that has imported torch: its exit handlers run and its streams are flushed, then the
process ends without the interpreter's teardown, which takes most of a second with torch loaded (0.5 s with
torch alone, 0.9 s with torch._dynamo, measured on the benchmark machine) after every output is written."""

import atexit
import os
import sys
import threading


def quick_exit(code) -> None:
    """End the process as sys.exit(code) would (None: 0; a string: printed to stderr, 1), without the teardown.
    Never returns."""
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        # what the interpreter does before its teardown, in its order: threads joined (and what threading runs
        # then: concurrent.futures stops its process pools), then the exit handlers (multiprocessing joins its
        # children, the fork servers close, logging flushes); the other way round, a pool's idle worker waits
        # for work while multiprocessing waits for it to end
        threading._shutdown()
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code & 0xFF)
