"""What the grader can ask of the student's code: each operation builds what it needs from the plain
numbers the grader sends (taps, inputs, a training scenario), calls the student's definitions and
returns what came out as plain data.

No operation knows a right answer: the grader's process compares what comes back with its own
float64 oracle and reference runs. So a submission that replaced these functions would have to
compute the right numbers itself, which is writing the lab's code.
"""

from lab2a.autograder.sandbox import student
from lab2a.autograder.sandbox.filter_ops import (
    cuda_available,
    filter_attributes,
    filter_calls,
    filter_meta,
    filter_step,
)
from lab2a.autograder.sandbox.student import StudentError, Unusable
from lab2a.autograder.sandbox.train_ops import train_device, train_run

# (filter_ops.py: the ConvolutionalFilter's operations; train_ops.py: train's; devices.py: the devices they pretend)

OPERATIONS = {
    "filter_attributes": filter_attributes,
    "filter_calls": filter_calls,
    "filter_step": filter_step,
    "filter_meta": filter_meta,
    "cuda_available": cuda_available,
    "train_run": train_run,
    "train_device": train_device,
}


def perform(namespace: dict, name: str, args: dict, reraise: tuple = ()) -> dict:
    """One operation, seeded; the student's failures come back as data:
    {"data": ...} | {"problem": why the definitions can't be used, "cause": its key} |
    {"error": the student's exception} |
    {"exit": "sys.exit(...)"} | {"raised": {"kind", "text"}} (anything else that escaped).
    reraise: exceptions that stop the caller instead (a time limit in the student's own kernel)."""
    operations = OPERATIONS
    try:
        with student.seeded(0):
            return {"data": operations[name](namespace, **args)}
    except Unusable as problem:
        return {"problem": str(problem), "cause": problem.cause}
    except StudentError as error:
        return {"error": error.data()}
    except reraise:
        raise
    except SystemExit as error:
        return {"exit": f"sys.exit({error.code!r})" if error.code is not None else "sys.exit()"}
    except BaseException as error:  # noqa: BLE001 (the student's code may raise anything, KeyboardInterrupt too)
        return {"raised": {"kind": type(error).__name__, "text": str(error)[:2000]}}
