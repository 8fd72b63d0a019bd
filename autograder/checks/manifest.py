"""The points manifest: every check of the lab, its task, whether students see it, and its parts with
their integer points; and the written answers (ANSWERS), which a TA grades.

The one place points are defined: nbgrader's test cells, `lab2a grade` and `lab2a check`, GitHub
Classroom and every export derive theirs from CHECKS (a test keeps the notebook's test cells equal).
The lab's own case (N = 32000, K = 81, batches of (B, 1, N)) carries most of a check's points; a
corner case (more taps than samples, float64) costs at most one. Hidden checks run the same kind
of test on inputs students never see; their code lives in private/.
"""

from dataclasses import dataclass

TASKS = ("filter", "train")


@dataclass(frozen=True)
class Part:
    name: str
    points: int
    what: str         # one line, for students: what passing this part shows


@dataclass(frozen=True)
class Check:
    name: str         # identifier, as in the test cell's grade_id test_<name> and check_in_notebook(name, ...)
    task: str         # "filter" (ConvolutionalFilter) or "train" (the training loop)
    visible: bool     # False: hidden from students until grading
    description: str  # one line, for students
    parts: tuple

    @property
    def points(self) -> int:
        return sum(part.points for part in self.parts)

    @property
    def test_cell(self) -> str:
        """The grade_id of the notebook cell where this check stands."""
        return "gpu_check" if self.points == 0 else f"test_{self.name}"


CHECKS = (
    Check("filter_structure", "filter", True,
          "taps is the int given, filter an nn.Parameter of shape (taps,); forward has no side effects", (
              Part("attributes", 1, "taps is the int given and filter an nn.Parameter of shape (taps,) among the "
                                    "module's parameters"),
              Part("no side effects", 1, "forward leaves its input and self.filter unchanged and keeps nothing "
                                         "from one call to the next"))),
    Check("filter_outputs", "filter", True,
          "outputs equal the causal convolution, in the input's shape and dtype", (
              Part("lab batches", 2, "81 taps on the lab's batches, shape (4, 1, 32000)"),
              Part("other shapes", 1, "81 taps on inputs of shape (N,), (B, N) and (A, B, 1, N), and a single tap"),
              Part("more taps than samples", 1, "120 taps on 100 samples"))),
    Check("filter_impulse", "filter", True,
          "impulse responses: the taps then zeros, causal, no wrap-around, no mixing of batch rows", (
              Part("causal", 1, "an impulse gives the taps from its sample on, and nothing before it"),
              Part("no wrap-around or mixing", 1, "a response running past the end does not wrap to the start, "
                                                  "and batch rows do not mix"))),
    Check("filter_gradient", "filter", True,
          "the gradient of a loss reaches the taps and equals the true gradient", (
              Part("reaches the taps", 1, "loss.backward() gives self.filter a gradient"),
              Part("true gradient", 1, "that gradient equals the true one"))),
    Check("filter_device", "filter", True,
          "forward works on the input's device: nothing inside it is pinned to the CPU", (
              Part("any device", 2, "forward runs on PyTorch's meta device and returns its output there"),)),
    Check("filter_cuda", "filter", True,
          "informational: the filter on a GPU, when there is one", (
              Part("gpu", 0, "forward runs on the GPU and its outputs are right there"),)),
    Check("hidden_filter", "filter", False,
          "hidden: more filter cases (other sizes and shapes, float64)", (
              Part("sizes", 1, "other numbers of taps and input shapes"),
              Part("corners", 1, "float64 modules and inputs, and more taps than samples"))),
    Check("train_trajectory", "train", True,
          "train trains the model as a reference loop does and returns one mean loss per epoch", (
              Part("training", 2, "after train, the model's parameters equal the reference loop's"),
              Part("epoch losses", 1, "train returns the mean of each epoch's batch losses, as the reference loop "
                                      "computes them"))),
    Check("train_device", "train", True,
          "train moves every batch (x and y) to the given device", (
              Part("device", 1, "every batch, x and y, is moved to the device before use"),)),
    Check("filter_convergence", "filter", True,
          "your ConvolutionalFilter, trained by a reference loop, reaches the least-squares optimum", (
              Part("convergence", 2, "trained step by step by the grader, it reaches the best filter's loss"),)),
    Check("hidden_train", "train", False,
          "hidden: train on another model, data set, optimizer and loss", (
              Part("training", 1, "after train, the model's parameters equal the reference loop's"),
              Part("epoch losses", 1, "train returns the mean of each epoch's batch losses"))),
)

BY_NAME = {check.name: check for check in CHECKS}


@dataclass(frozen=True)
class Answer:
    """A written answer, graded by a TA in nbgrader's formgrader (a "manually graded answer" cell): no
    channel grades it, and every channel says that its points come from a TA."""
    name: str         # the answer cell's grade_id
    task: str         # the part of the lab it follows
    points: int
    question: str     # one line, as the notebook asks it


ANSWERS = (
    Answer("answer_fcnn", "fcnn", 2, "what the fully connected network's output sounds like, and why it fails "
                                     "at 32,000 dimensions"),
    Answer("answer_filter", "filter", 2, "what the filter learned, as seen in its frequency response and heard "
                                         "in the cleaned clip"),
)


def written_points() -> int:
    """The points a TA gives for the written answers (not part of any automatic total)."""
    return sum(answer.points for answer in ANSWERS)


def check(name: str) -> Check:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no check named {name!r}; the checks are: {', '.join(BY_NAME)}") from None


def total_points(task: str | None = None, visible: bool | None = None) -> int:
    return sum(c.points for c in CHECKS
               if (task is None or c.task == task) and (visible is None or c.visible == visible))
