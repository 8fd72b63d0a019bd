"""The lab's own cells that use the student's code (training the network, training and plotting the filter):
each starts with `if finished("train", globals()):`, so that a notebook run top to bottom as handed out (Run
All, `jupyter nbconvert --execute`) has errors only in the cells of the tasks still to finish. An unfinished
task is said in one line (which task to finish first) and the cell's body is left out, instead of a traceback
there and NameErrors in every figure after it. The hidden checks' cells start with `require("train",
globals())`: the same line, as the cell's error, without a traceback. Grading runs none of these cells.
"""

TASKS = {"train": "Task 1 (train)", "ConvolutionalFilter": "Task 2 (ConvolutionalFilter)"}   # in this order


def _try(name: str, namespace: dict) -> str | None:
    """None when the definition can be called as the lab's cells call it, else why not (one line)."""
    import torch
    from torch import nn

    definition = namespace.get(name)
    if definition is None:
        return f"{name} is not defined (run its cell)"
    try:
        if name == "train":   # zero epochs: no batch is read, a stub still raises
            model = nn.Linear(1, 1)
            definition(model, [], torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), 0, "cpu")
        else:
            definition(3)(torch.zeros(1, 1, 8))
    except Exception as error:   # noqa: BLE001  (any failure means: not usable yet)
        text = str(error).strip().splitlines()
        return f"it raised {type(error).__name__}" + (f": {text[0]}" if text else "")
    return None


def _unfinished(names, namespace) -> str | None:
    """One line saying which tasks to finish first, or None when each definition can be called."""
    names = sorted(names, key=lambda name: list(TASKS).index(name) if name in TASKS else len(TASKS))
    missing = [(name, why) for name in names if (why := _try(name, namespace)) is not None]
    if not missing:
        return None
    tasks = " and ".join(TASKS.get(name, name) for name, _ in missing)
    reasons = "; ".join(f"{name}: {why}" for name, why in missing)
    return f"Finish {tasks} first: this cell uses {'them' if len(missing) > 1 else 'it'} ({reasons})."


def finished(*names_and_namespace) -> bool:
    """finished("ConvolutionalFilter", "train", globals()): True when each can be called; else prints one line
    saying which task to finish first, and returns False."""
    *names, namespace = names_and_namespace
    line = _unfinished(names, namespace)
    if line:
        print(line)
    return line is None


class Unfinished(Exception):
    """A task to finish first: Jupyter shows this one line, not a traceback (IPython's _render_traceback_)."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


def require(*names_and_namespace) -> None:
    """require("train", globals()): nothing when each can be called; else Unfinished, saying which task."""
    *names, namespace = names_and_namespace
    line = _unfinished(names, namespace)
    if line:
        raise Unfinished(line)
