"""Reader for the IDX format of MNIST, Fashion-MNIST, KMNIST and EMNIST (gzipped or raw)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from biaslearn.errors import BiaslearnError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path, expected_sha256: str | None = None) -> np.ndarray:
    """The array stored in an IDX file, e.g. (60000, 28, 28) uint8 images or (60000,) labels.
    With `expected_sha256` (of the uncompressed bytes), a damaged file is an error."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise BiaslearnError(f"{path}: cannot read IDX file ({exc})") from None
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise BiaslearnError(f"{path}: content checksum mismatch; the file is damaged, reinstall or replace it")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise BiaslearnError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise BiaslearnError(f"{path}: IDX header promises {expected} bytes of data, file holds {len(data) - header}; the file is truncated")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def find_idx_files(directory: str | Path, prefix: str = "") -> dict[str, Path]:
    """Locate train/test images/labels in `directory` by the standard names
    ({prefix}train-images-idx3-ubyte[.gz], {prefix}t10k-... or {prefix}test-...)."""
    directory = Path(directory)
    found: dict[str, Path] = {}
    for key, stems in {
        "train_images": ["train-images-idx3-ubyte", "train-images.idx3-ubyte"],
        "train_labels": ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
        "test_images": ["t10k-images-idx3-ubyte", "test-images-idx3-ubyte", "t10k-images.idx3-ubyte"],
        "test_labels": ["t10k-labels-idx1-ubyte", "test-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"],
    }.items():
        for stem in stems:
            for suffix in ("", ".gz"):
                candidate = directory / f"{prefix}{stem}{suffix}"
                if candidate.exists():
                    found.setdefault(key, candidate)
    return found
