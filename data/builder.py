"""Build the lab's dataset: N pairs (noisy x, clean y) of 1 s at 32 kHz, byte-identical per seed.

Speech comes from worker processes (one fresh process per chunk of utterances, see speech.py), in
chunk order; each clip's noise, level and SNR come from that clip's own generator, seeded by
(seed, clip index). Clips are mixed as chunks arrive, so the file's tensors are the only large
allocation.
"""

import hashlib
import json
import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
from tqdm import tqdm

from . import PRESET_NAMES, noise, speech
from .optimal import filter_scores, optimal_filters
from .recipe import course_recipe
from .split import SPLIT_SEED, split_indices, split_sizes

SPEECH_RMS = 4e-4          # the course's level: its recipe (SGD, lr 0.005, summed MSE) needs it
SPEECH_RMS_SPREAD_DB = 1.5  # each clip's level within +-1.5 dB of it
CARD_TAPS = [10, 81]       # the least-squares filters reported in the data card
EXAMPLES = 3               # clips written as WAV files to listen to
WORKERS = max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class Preset:
    name: str
    speech_band_hz: float | None         # speech low-passed to this band (None: full band)
    snr_db: tuple[float, float]          # SNR drawn uniformly from this range, per clip
    noise: Callable[[np.random.Generator], np.ndarray]
    noise_description: str


PRESETS = {
    "course": Preset(
        "course", 2000.0, (-23.0, -14.0), noise.course_noise,
        "stationary Gaussian noise in 14.0-15.5 kHz, independent per clip",
    ),
    "realistic": Preset(
        "realistic", None, (0.0, 10.0), noise.realistic_noise,
        "per clip: hiss from 5-12 kHz up to 15.5 kHz, brown rumble, 50/60 Hz hum, broadband floor",
    ),
}
assert tuple(PRESETS) == PRESET_NAMES, "data/__init__.py names the presets for the command line"


def default_path() -> Path:
    """Where the notebook looks: $LAB2A_DATA, else data/data_lab_2A.pt in this repository."""
    return Path(os.environ.get("LAB2A_DATA") or Path(__file__).resolve().parent / "data_lab_2A.pt")


def card_path(out: Path) -> Path:
    return out.with_name(out.stem + ".card.json")


def examples_dir(out: Path) -> Path:
    return out.with_name(out.stem + "_examples")


def _speech_chunks(preset: Preset, seed: int):
    """Chunks of unit-RMS speech windows, in chunk order, synthesised WORKERS at a time."""
    context = multiprocessing.get_context("spawn")  # a fresh engine per chunk: see speech.py
    pool = ProcessPoolExecutor(WORKERS, mp_context=context, max_tasks_per_child=1,
                               initializer=speech.die_with_parent, initargs=(os.getpid(),))
    pending = deque()
    chunk = 0
    try:
        while True:
            while len(pending) < WORKERS:
                pending.append(pool.submit(speech.speech_windows, seed, chunk, preset.speech_band_hz))
                chunk += 1
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _mix(preset: Preset, seed: int, index: int, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One clip: speech at its level plus noise at its SNR, float64."""
    rng = np.random.default_rng([seed, index, 1])
    level = SPEECH_RMS * 10 ** (rng.uniform(-SPEECH_RMS_SPREAD_DB, SPEECH_RMS_SPREAD_DB) / 20)
    snr_db = rng.uniform(*preset.snr_db)
    y = clean.astype(np.float64) * level
    return y + preset.noise(rng) * level * 10 ** (-snr_db / 20), y


def make_pairs(preset: Preset, clips: int, seed: int, progress: bool | None = None):
    """The clips as a list of (x, y) float32 tensors of shape (1, N).

    All tensors are views into one block allocated up front: the data never exists twice, and
    torch.save writes the block once.
    """
    block = torch.empty((clips, 2, 1, speech.N))
    done = 0
    with tqdm(total=clips, desc=f"{preset.name} clips", unit="clip",
              disable=None if progress is None else not progress) as bar:
        for chunk, windows in enumerate(_speech_chunks(preset, seed)):
            if done == 0 and chunk >= 10:
                raise RuntimeError("speech synthesis produced no usable one-second windows")
            for clean in windows[:clips - done]:
                x, y = _mix(preset, seed, done, clean)
                block[done, 0, 0] = torch.from_numpy(x)
                block[done, 1, 0] = torch.from_numpy(y)
                done += 1
                bar.update()
            if done == clips:
                return [(block[i, 0], block[i, 1]) for i in range(clips)]


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """write(temporary) beside path, then rename: an interrupted build leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save(pairs, path: Path) -> None:
    # Through a file object: given a path, torch names the archive's folder after the (temporary,
    # random) file name, and the same data would not give the same bytes.
    with open(path, "wb") as f:
        torch.save(pairs, f)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _spread(values: np.ndarray) -> dict[str, float]:
    return {"min": float(values.min()), "median": float(np.median(values)), "max": float(values.max())}


def statistics(pairs, taps: list[int] = CARD_TAPS) -> dict:
    """Levels, SNRs, the least-squares filters' scores on the lab's split, and what the course's own
    training recipe reaches (recipe.py: about 3 s for 1500 clips)."""
    def rms(t) -> float:
        return float(t.double().pow(2).mean().sqrt())
    speech_rms = np.array([rms(y) for _, y in pairs])
    noise_rms = np.array([rms(x - y) for x, y in pairs])
    train_idx, test_idx = split_indices(len(pairs))
    train, test = [pairs[i] for i in train_idx], [pairs[i] for i in test_idx]
    filters = optimal_filters(train, taps)
    return {
        "speech_rms": _spread(speech_rms),
        "noise_rms": _spread(noise_rms),
        "snr_db": _spread(20 * np.log10(speech_rms / noise_rms)),
        "split": {"train": len(train), "test": len(test), "seed": SPLIT_SEED},
        "least_squares_filter": {
            str(k): {"test": filter_scores(h, test)} for k, h in zip(taps, filters)
        },
        "course_recipe": course_recipe(pairs),
    }


def _write_examples(pairs, folder: Path) -> list[str]:
    """A few clips as 16-bit WAV, each peak-normalised: at the lab's level (RMS 4e-4) they're inaudible."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, (x, y) in enumerate(pairs[:EXAMPLES]):
        for kind, clip in (("noisy", x), ("clean", y)):
            name = f"clip{i}_{kind}.wav"
            audio = clip.double().numpy().ravel()
            _atomic_write(folder / name, lambda tmp, audio=audio: soundfile.write(
                tmp, 0.9 * audio / np.abs(audio).max(), speech.FS, subtype="PCM_16", format="WAV"))
            names.append(name)
    return names


def build(out=None, preset: str = "course", clips: int = 1500, seed: int = 0,
          progress: bool | None = None) -> dict:
    """Write the dataset to `out`, its data card and WAV examples beside it; return the card.

    progress: True/False forces the bar on/off; None shows it only on a terminal.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    split_sizes(clips)  # fails early, with a message, for fewer than 2 clips
    out = Path(out) if out else default_path()
    chosen = PRESETS[preset]
    pairs = make_pairs(chosen, clips, seed, progress)
    _atomic_write(out, lambda tmp: _save(pairs, tmp))
    card = {
        "file": out.name,
        "sha256": sha256(out),
        "bytes": out.stat().st_size,
        "preset": preset,
        "seed": seed,
        "clips": clips,
        "format": "list of (x noisy, y clean) tuples of float32 tensors of shape (1, 32000): 1 s at 32 kHz",
        "speech": f"espeak-ng, {len(speech.VOICES)} voices, 1 s windows cut from inside longer utterances"
                  + (f", low-passed below {chosen.speech_band_hz:.0f} Hz" if chosen.speech_band_hz else ", full band"),
        "noise": chosen.noise_description,
        **statistics(pairs),
        "examples": [f"{examples_dir(out).name}/{name}" for name in _write_examples(pairs, examples_dir(out))],
    }
    _atomic_write(card_path(out), lambda tmp: tmp.write_text(json.dumps(card, indent=2) + "\n"))
    return card
