"""Lab 2A (speech denoising with a learned convolutional filter) as an autograded assignment.

Parts: lab2a.data (data/: the dataset builder), lab2a.cli (the `lab2a` command).
"""
