"""The learned causal K-tap filter of the lab: y[..., n] = sum_k filter[k] * x[..., n-k], x[m<0] = 0."""

import torch
from torch import nn


class ConvolutionalFilter(nn.Module):
    def __init__(self, taps):
        super().__init__()
        self.taps = int(taps)
        # Any start works with enough training; the notebook's recipe sets its own.
        self.filter = nn.Parameter(torch.zeros(self.taps))

    def forward(self, x):
        # Convolution in time is multiplication in frequency. Both sequences are zero-padded to at
        # least N + K - 1 samples, so the FFT's circular convolution equals the linear one: nothing
        # wraps around, and samples before n = 0 count as zeros. The first N outputs are the causal
        # filter's output. Every leading dimension of x is a row of its own (the FFT runs along the
        # last one), so batch rows never mix. A power of two keeps the FFT fast.
        n = x.shape[-1]
        size = 2 ** (n + self.taps - 2).bit_length()
        spectrum = torch.fft.rfft(x, size) * torch.fft.rfft(self.filter.to(x.dtype), size)
        return torch.fft.irfft(spectrum, size)[..., :n]
