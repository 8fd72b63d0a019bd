"""What the commands print to a terminal: nothing a student wrote reaches it as an escape sequence or a control
character (autograder/grading/terminal.py)."""

import subprocess
import sys

import pytest

from lab2a.autograder.grading.terminal import terminal_text

from .catalogue import limits
from .conftest import ROOT

CONTROLS = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))]


@pytest.mark.parametrize("text, kept", [
    ("\x1b]0;pwned\x07title", "title"),                      # the window's title (OSC, ended by BEL)
    ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),      # a hyperlink (OSC, ended by ST)
    ("\x1b[2J\x1b[1;1Hcleared", "cleared"),                   # the screen cleared, the cursor moved (CSI)
    ("\x1b[31mred\x1b[0m", "red"),
    ("a\x9b2Jb\x9d0;t\x9cc", "abc"),                           # 8-bit CSI and OSC
    ("\x1bPq#0;2;0;0;0\x1b\\sixel", "sixel"),                 # a device control string
    ("line\rfake", "linefake"), ("bell\x07\x08\x7f", "bell"),
    ("\u202eevil\u202c", "evil"),                             # bidirectional overrides
    ("two\nlines\tand a tab", "two\nlines\tand a tab"),       # kept for the layout
])
def test_terminal_text_removes_escape_sequences_and_control_characters(text, kept):
    assert terminal_text(text) == kept


def test_terminal_text_keeps_only_what_is_asked():
    assert terminal_text("a\nb\tc", keep="") == "abc"
    assert not any(c in terminal_text("".join(CONTROLS) + "\n\t") for c in CONTROLS)


@pytest.mark.parametrize("command", ["grade", "check"])
def test_a_students_escape_sequences_never_reach_the_terminal(tmp_path, command):
    """A real submission whose exceptions carry escape sequences, graded by `lab2a grade` and `lab2a check`:
    the table names the exceptions, and neither stdout nor stderr holds a control character."""
    limits.entries(tmp_path, 1, tmp_path)["escape_sequences_in_errors"].build(tmp_path / "sub")
    result = subprocess.run([sys.executable, "-m", "lab2a.cli", command, str(tmp_path / "sub" / "lab2a.ipynb")],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    printed = result.stdout + result.stderr
    words = " ".join(printed.split())   # (the table wraps its lines)
    assert "train raised RuntimeError" in words and "raised ValueError at line 2" in words, printed
    assert not [c for c in printed if c in CONTROLS or c in "\u202e"], printed
