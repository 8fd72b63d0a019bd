"""Open a Lab 2A data file and check it is what the lab expects, with one clear error if not.

Accepted: what `lab2a data` writes (a list of (x, y) tuples) and the course's original file (a list
of tuples or a TensorDataset). Loading never runs code from the file: torch's weights-only
unpickler, with TensorDataset as the one class allowed besides tensors and containers.
"""

import pickle
import warnings
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

EXPECTED = (
    "The lab expects a file written by `lab2a data` (or the course's original): a sequence of "
    "(x, y) pairs, x the noisy and y the clean clip, both float tensors of the same shape, "
    "(1, 32000) for one second at 32 kHz."
)


class DatasetError(ValueError):
    """The data file is missing or is not a Lab 2A dataset; the message says why."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}\n{EXPECTED}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def _open(path: Path):
    if not path.is_file():
        raise DatasetError(path, "no such file. Build it with `lab2a data` (about 20 s).")
    try:
        with torch.serialization.safe_globals([TensorDataset]), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's remarks on foreign pickles: the error says it all
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise DatasetError(path, f"holds Python objects other than tensors, refused unread "
                                 f"({_first_line(error)}).") from None
    except Exception as error:  # a truncated or foreign file fails anywhere inside torch
        raise DatasetError(path, f"is not a readable PyTorch file ({_first_line(error)}).") from None


def _check_pair(path: Path, index: int, pair, length: int | None) -> int:
    where = f"item {index}"
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise DatasetError(path, f"{where} is {type(pair).__name__}"
                                 f"{f' of length {len(pair)}' if isinstance(pair, (tuple, list)) else ''}, "
                                 f"not an (x, y) pair.")
    for name, t in zip("xy", pair):
        if not isinstance(t, torch.Tensor):
            raise DatasetError(path, f"{where}: {name} is {type(t).__name__}, not a tensor.")
        if not t.is_floating_point():
            raise DatasetError(path, f"{where}: {name} has dtype {t.dtype}, not a floating-point type.")
        if t.dim() == 0:
            raise DatasetError(path, f"{where}: {name} is a scalar, not a clip.")
    x, y = pair
    if x.shape != y.shape:
        raise DatasetError(path, f"{where}: x has shape {tuple(x.shape)} but y has {tuple(y.shape)}.")
    if length is not None and x.shape[-1] != length:
        raise DatasetError(path, f"{where} has {x.shape[-1]} samples, earlier items have {length}.")
    for name, t in zip("xy", pair):
        if not torch.isfinite(t).all():
            raise DatasetError(path, f"{where}: {name} contains NaN or infinite values.")
    return x.shape[-1]


def load_pairs(path) -> "list[tuple[torch.Tensor, torch.Tensor]] | TensorDataset":
    """The dataset in `path`, checked: len(ds), ds[i] -> (x, y), usable with random_split and DataLoader."""
    path = Path(path)
    data = _open(path)
    if isinstance(data, TensorDataset):
        if len(data.tensors) != 2 or len({len(t) for t in data.tensors}) != 1:
            raise DatasetError(path, f"is a TensorDataset of {len(data.tensors)} tensors with "
                                     f"lengths {[len(t) for t in data.tensors]}, not (x, y) of equal length.")
    elif not isinstance(data, (list, tuple)):
        raise DatasetError(path, f"holds a {type(data).__name__}, not a sequence of pairs.")
    if len(data) == 0:
        raise DatasetError(path, "holds no pairs.")
    length = None
    for index in range(len(data)):
        length = _check_pair(path, index, data[index], length)
    return data


def describe(data) -> str:
    """One line for people: how many pairs, their shape, type and size."""
    x, _ = data[0]
    megabytes = len(data) * 2 * x.numel() * x.element_size() / 1e6
    return (f"{len(data)} pairs (x noisy, y clean), each of shape {tuple(x.shape)}, {x.dtype}, "
            f"{megabytes:.0f} MB in all")
