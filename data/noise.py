"""Noise for one clip, unit RMS, float64 of length N, from that clip's own random generator.

Band-limited noise is made in the frequency domain: complex Gaussian coefficients on the band's
bins, zero elsewhere. The result is stationary Gaussian noise with exactly that band (circular over
the clip, which a stationary process allows).
"""

import numpy as np

from .speech import FS, N


def unit_rms(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(np.mean(x ** 2))


def band_noise(rng: np.random.Generator, low_hz: float, high_hz: float, n: int = N) -> np.ndarray:
    """Gaussian noise with a flat spectrum between low_hz and high_hz and nothing elsewhere."""
    freqs = np.fft.rfftfreq(n, 1 / FS)
    band = (freqs >= low_hz) & (freqs <= high_hz)
    spectrum = np.zeros(len(freqs), complex)
    spectrum[band] = rng.standard_normal(band.sum()) + 1j * rng.standard_normal(band.sum())
    return unit_rms(np.fft.irfft(spectrum, n))


def course_noise(rng: np.random.Generator) -> np.ndarray:
    """The course's noise: a high whistle of band-limited Gaussian noise, 14.0-15.5 kHz."""
    return band_noise(rng, 14_000.0, 15_500.0)


def brown_rumble(rng: np.random.Generator, n: int = N) -> np.ndarray:
    """Low rumble: power falling as 1/f^2 from 20 Hz to 1 kHz."""
    freqs = np.fft.rfftfreq(n, 1 / FS)
    band = (freqs >= 20.0) & (freqs <= 1000.0)
    spectrum = np.zeros(len(freqs), complex)
    spectrum[band] = (rng.standard_normal(band.sum()) + 1j * rng.standard_normal(band.sum())) / freqs[band]
    return unit_rms(np.fft.irfft(spectrum, n))


def mains_hum(rng: np.random.Generator, n: int = N) -> np.ndarray:
    """50 or 60 Hz with harmonics up to 1 kHz, each weaker than the last, random phases."""
    fundamental = rng.choice([50.0, 60.0])
    t = np.arange(n) / FS
    harmonics = np.arange(1, int(1000 // fundamental) + 1)
    amplitudes = rng.uniform(0.3, 1.0, len(harmonics)) / harmonics
    phases = rng.uniform(0, 2 * np.pi, len(harmonics))
    hum = (amplitudes[:, None] * np.sin(2 * np.pi * fundamental * harmonics[:, None] * t + phases[:, None])).sum(0)
    return unit_rms(hum)


def realistic_noise(rng: np.random.Generator) -> np.ndarray:
    """A room and a device: hiss from 5-12 kHz up to 15.5 kHz, rumble, hum, and a broadband floor.

    Relative levels in dB (hiss at 0) are drawn per clip, so every clip has its own mixture.
    """
    parts = [
        (band_noise(rng, rng.uniform(5_000.0, 12_000.0), 15_500.0), 0.0),
        (brown_rumble(rng), rng.uniform(-12.0, 0.0)),
        (mains_hum(rng), rng.uniform(-18.0, -6.0)),
        (rng.standard_normal(N), rng.uniform(-25.0, -15.0)),
    ]
    return unit_rms(sum(part * 10 ** (level_db / 20) for part, level_db in parts))
