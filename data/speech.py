"""Clean speech: espeak-ng (from the `espeakng-loader` wheel) through ctypes, resampled to 32 kHz.

The engine keeps state between calls (the same text twice in one process can come out with a
different length), so every batch of utterances is synthesised in a fresh process, always in the
same order: `speech_windows(seed, chunk, ...)` depends on its arguments only.
"""

import ctypes
import os
import signal

import numpy as np

from . import text

ENGINE_RATE = 22050          # espeak-ng's output rate (returned by espeak_Initialize)
FS = 32000                   # the lab's sampling rate
N = 32000                    # one second per clip
# Voice variants with breath noise (en+f2, en+f3, en+f5, en+whisper) differ from run to run: not here.
VOICES = [
    "en", "en-us", "gmw/en-GB-x-rp", "en-029", "en-gb-scotland", "en+klatt", "en+klatt2",
    "en+m1", "en+m3", "en+m5", "en+croak", "en+f1", "en+f4", "en-us+f4", "en+Annie", "en+belinda",
]
UTTERANCES_PER_CHUNK = 25    # about 200 one-second windows: a unit of work for one process

# espeak-ng's C API (speak_lib.h)
_SYNCHRONOUS = 2
_UTF8 = 1
_RATE, _PITCH, _RANGE = 1, 3, 4
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def die_with_parent(parent: int) -> None:
    """In a worker process: ask Linux to end it when the build that started it dies (kill -9)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: a killed build's workers finish their chunk and exit
    if os.getppid() != parent:  # the build died while this worker was starting, before the request
        os._exit(0)


class Engine:
    """One initialised espeak-ng engine in this process."""

    def __init__(self):
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        rate = self.lib.espeak_Initialize(_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate != ENGINE_RATE:
            raise RuntimeError(f"espeak-ng failed to start (espeak_Initialize returned {rate})")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept alive as long as the engine
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n, _events):
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def say(self, sentence: str, voice: str, rate: int, pitch: int, pitch_range: int) -> np.ndarray:
        """The utterance as float64 samples at ENGINE_RATE, in [-1, 1]."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
        for parameter, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
            self.lib.espeak_SetParameter(parameter, value, 0)
        self._chunks = []
        data = sentence.encode()
        self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _UTF8, None, None)
        self.lib.espeak_Synchronize()
        if not self._chunks:
            return np.zeros(0)
        return np.concatenate(self._chunks) / 32768.0


def lowpass(band_hz: float, fs: int = FS) -> np.ndarray:
    """Linear-phase FIR: flat below band_hz - 200 Hz, at least 79 dB down from band_hz up."""
    from scipy import signal  # here, not at the top: 100 MB that only the worker processes need

    numtaps, beta = signal.kaiserord(80.0, 200.0 / (fs / 2))
    numtaps |= 1  # odd length: an integer group delay, removed by mode="same"
    return signal.firwin(numtaps, band_hz - 100.0, window=("kaiser", beta), fs=fs)


def filled_windows(audio: np.ndarray, skip: int = FS // 4) -> list[np.ndarray]:
    """Non-overlapping 1 s windows cut from inside an utterance, kept only if speech fills them.

    A window is kept when at least 85 % of its 50 ms frames carry more than 1 % of the window's
    mean power: pauses between sentences are allowed, silence filling the second is not.
    """
    windows = []
    for start in range(skip, len(audio) - N - skip + 1, N):
        window = audio[start:start + N]
        frame_power = (window.reshape(20, -1) ** 2).mean(axis=1)
        if (frame_power > 0.01 * frame_power.mean()).mean() >= 0.85:
            windows.append(window)
    return windows


def speech_windows(seed: int, chunk: int, band_hz: float | None) -> np.ndarray:
    """All accepted 1 s windows of one chunk of utterances, each scaled to unit RMS, float32 (W, N).

    Meant to run in a fresh process (see the module docstring); the result depends only on the
    arguments.
    """
    from scipy import signal

    rng = np.random.default_rng([seed, chunk, 0x5BEEC4])
    engine = Engine()
    taps = lowpass(band_hz) if band_hz else None
    windows = []
    for _ in range(UTTERANCES_PER_CHUNK):
        sentence = text.paragraph(rng, sentences=int(rng.integers(2, 5)))
        audio = engine.say(
            sentence,
            voice=str(rng.choice(VOICES)),
            rate=int(rng.integers(140, 200)),
            pitch=int(rng.integers(30, 70)),
            pitch_range=int(rng.integers(30, 80)),
        )
        audio = signal.resample_poly(audio, FS // 50, ENGINE_RATE // 50)  # 22050 -> 32000 Hz
        if taps is not None:
            audio = signal.oaconvolve(audio, taps, mode="same")
        windows += filled_windows(audio)
    if not windows:
        return np.zeros((0, N), np.float32)
    stacked = np.stack(windows)
    stacked /= np.sqrt((stacked ** 2).mean(axis=1, keepdims=True))
    return stacked.astype(np.float32)
