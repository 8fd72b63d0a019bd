"""The reference implementation of Lab 2A: what the notebook's solution cells contain (a test keeps the
two in step), plus the notebook's fully connected baseline and evaluation."""

from .fcnn import FullyConnected
from .filter import ConvolutionalFilter
from .train import evaluate, train

__all__ = ["ConvolutionalFilter", "FullyConnected", "evaluate", "train"]
