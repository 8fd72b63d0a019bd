"""Text for a terminal: what any command prints passes through terminal_text(), so nothing a student wrote
(an exception's message, a name, printed output, a file name) can drive the TA's terminal.

A terminal obeys escape sequences: ESC ] 0 ; title BEL renames the window, ESC [ 2 J clears the screen,
ESC [ 1 A moves up a line, a carriage return overwrites a line from its start, and some terminals
answer queries by typing into the shell. So terminal_text() removes ANSI escape sequences whole (CSI,
OSC, DCS and the other strings, their 8-bit forms), then every other control character: C0 but the tab
and the newline (which the layout needs, and which are kept only where asked), DEL, C1, and the Unicode
controls that reorder a line's text (bidirectional embeddings, overrides and isolates).
"""

import functools
import re
import sys

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"                               # CSI: cursor, colours, clearing
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"     # OSC, DCS, SOS, PM, APC: strings up to their end
    r"|\x1b[ -/]*[0-~]?"                                      # the other escapes (two or three characters)
    r"|\x9b[0-?]*[ -/]*[@-~]?"                                # CSI, 8-bit
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?")   # the strings, 8-bit
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]


@functools.cache
def _table(keep: str) -> dict:
    return {code: None for code in _CONTROLS if chr(code) not in keep}


def terminal_text(text: str, keep: str = "\n\t") -> str:
    """text without escape sequences and control characters (those in `keep` excepted), as UTF-8 can
    write it (a lone surrogate becomes "?")."""
    text = _ESCAPES.sub("", text).translate(_table(keep))
    return text.encode("utf-8", "replace").decode("utf-8")


class TerminalStream:
    """A text stream that writes terminal_text() of everything written to it: the `lab2a` command's
    stdout and stderr. `unfiltered` is the stream itself, for a progress bar (whose carriage return is its
    own, and whose text holds nothing of a student's)."""

    def __init__(self, stream):
        self.unfiltered = stream

    def write(self, text: str) -> int:
        self.unfiltered.write(terminal_text(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self.unfiltered, name)


def filter_terminal() -> None:
    """From now on, what this process prints to sys.stdout and sys.stderr is terminal_text()."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, TerminalStream):
            setattr(sys, name, TerminalStream(stream))


def progress_stream():
    """Where a progress bar writes: stderr itself, past the filter."""
    return getattr(sys.stderr, "unfiltered", sys.stderr)
