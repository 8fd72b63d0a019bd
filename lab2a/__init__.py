"""Lab 2A (speech denoising with a learned convolutional filter) as an autograded assignment.

Parts: lab2a.autograder (autograder/: the grader behind every channel), lab2a.data (data/: the dataset
builder), lab2a.cli (the `lab2a` command), lab2a.bench and lab2a.demo (course tools), lab2a.torch_index (where
torch is installed from), lab2a.quick_exit (how our commands end).
"""

import sys as _sys

# jsonschema (under nbformat, nbgrader, jupyter) imports rfc3987-syntax, when it is installed, for its "iri"
# format checker, and that package compiles its grammar with Lark as it is imported: 0.9 s of every process that
# reads a notebook (of 1.2 s for all of nbformat, measured on the benchmark machine). No schema these processes
# validate uses that format; without the package jsonschema leaves it unchecked, as it does for any format it
# has no checker for. (setdefault: a process that has imported it keeps it.)
_sys.modules.setdefault("rfc3987_syntax", None)
