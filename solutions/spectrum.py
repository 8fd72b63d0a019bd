"""Spectra with a frequency axis in hertz."""

import torch

FS = 32000  # samples per second: one sample every 1/32000 s = 31.25 microseconds


def magnitude_spectrum(x, fs=FS):
    """Frequencies (Hz, 0 to fs/2) and |X| of a clip of shape (..., N); N is the last dimension."""
    n = x.shape[-1]
    spectrum = torch.fft.rfft(x.detach().double().cpu(), dim=-1).abs()
    return torch.fft.rfftfreq(n, d=1 / fs), spectrum.reshape(-1, n // 2 + 1).squeeze(0)


def frequency_response(taps, fs=FS, points=4096):
    """Frequencies (Hz) and |H(f)| of an FIR filter, on a fine grid from 0 to fs/2."""
    h = torch.as_tensor(taps).detach().double().cpu().reshape(-1)
    return torch.fft.rfftfreq(2 * (points - 1), d=1 / fs), torch.fft.rfft(h, n=2 * (points - 1)).abs()


def snr_db(clean, estimate):
    """Signal-to-noise ratio of an estimate of `clean`, in dB."""
    clean, estimate = clean.detach().double(), estimate.detach().double()
    return (10 * torch.log10(clean.pow(2).sum() / (estimate - clean).pow(2).sum())).item()
