"""The lab's own cells that use the student's code (training the network, training and plotting the filter):
each starts with `if finished("train", globals()):`, so that a notebook run top to bottom as handed out (Run
All, `jupyter nbconvert --execute`) has errors only in the cells the student must finish. An unfinished task
is said in one line (which task to finish first) and the cell's body is left out, instead of a traceback
here and NameErrors in every figure after it. Grading never runs these cells.
"""

TASKS = {"train": "Task 1 (`train`)", "ConvolutionalFilter": "Task 2 (`ConvolutionalFilter`)"}


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


def finished(*names_and_namespace) -> bool:
    """finished("train", "ConvolutionalFilter", globals()): True when each can be called; else prints one line
    saying which task to finish first, and returns False."""
    *names, namespace = names_and_namespace
    missing = [(name, why) for name in names if (why := _try(name, namespace)) is not None]
    if missing:
        tasks = " and ".join(TASKS.get(name, name) for name, _ in missing)
        reasons = "; ".join(f"{name}: {why}" for name, why in missing)
        print(f"Finish {tasks} first: this cell uses {'them' if len(missing) > 1 else 'it'} ({reasons}).")
    return not missing
