"""The two ways a step of grading ends early that are not the student's answer: the sandbox could not
answer (StepFailed: it timed out, its process died, it broke the protocol, it wrote too much), or the
grader itself could not run (GraderError: not the submission's fault, never scored)."""


class GraderError(RuntimeError):
    """The grader itself could not run (not the submission's fault)."""


class StepFailed(Exception):
    """The sandbox could not answer: kind "timeout", "ended", "protocol", "disk", "files", "threads" or
    "budget"; message: what the student is told."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message
