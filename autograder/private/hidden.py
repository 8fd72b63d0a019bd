"""The hidden checks: the visible checks' tests on inputs students never see, so that a submission
can't be tuned to the visible ones. A student-facing export leaves this module out; the registry
then runs the visible checks only."""

from lab2a.autograder.checks.cases import judge_cases, probe_cases
from lab2a.autograder.checks.filter import N, noise_case
from lab2a.autograder.checks.train import judge_trajectory, probe_trajectory
from lab2a.autograder.judge.training import Scenario

FILTER_CASES = (
    noise_case(33, (3, 1, 4000), 901, ", with the module in float64 too (module.double())", dtype="float64"),
    noise_case(2, (2, 2, 2, 777), 902),
    noise_case(64, (3, 64), 903, ": as many taps as samples"),
    noise_case(65, (64,), 904, ": one more tap than samples"),
    noise_case(257, (1, 1, N), 905),
)

TRAIN_SCENARIO = Scenario(seed=977, pairs=27, length=48, batch_size=8, n_epochs=4, optimizer="adam",
                          lr=0.01, loss="l1")


def probe_filter(namespace: dict) -> dict:
    return probe_cases(namespace, FILTER_CASES)


def judge_filter(data: dict):
    return judge_cases(FILTER_CASES, data, "right on more sizes and shapes, and in float64")


def probe_train(namespace: dict) -> dict:
    return probe_trajectory(namespace, TRAIN_SCENARIO)


def judge_train(data: dict):
    return judge_trajectory(data, TRAIN_SCENARIO)


CHECKS = {
    "hidden_filter": (probe_filter, judge_filter),
    "hidden_train": (probe_train, judge_train),
}
