"""The reference implementation of Lab 2A: what the notebook's solution cells contain."""

from .fcnn import FullyConnected
from .filter import ConvolutionalFilter
from .spectrum import frequency_response, magnitude_spectrum, snr_db
from .train import evaluate, train

__all__ = ["ConvolutionalFilter", "FullyConnected", "evaluate", "frequency_response",
           "magnitude_spectrum", "snr_db", "train"]
