import gzip
import struct

import numpy as np
import pytest
import torch

import biaslearn as bl
from biaslearn.data import images
from biaslearn.data.idx import read_idx


def _write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", s) for s in array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def _fake_mnist_dir(root, n=30):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    _write_idx(root / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
    _write_idx(root / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    _write_idx(root / "t10k-images-idx3-ubyte", rng.integers(0, 256, (10, 28, 28)))
    _write_idx(root / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 10))


def test_idx_round_trip_and_truncation(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.idx", array)
    assert np.array_equal(read_idx(tmp_path / "a.idx"), array)
    (tmp_path / "b.idx").write_bytes((tmp_path / "a.idx").read_bytes()[:-3])
    with pytest.raises(bl.BiaslearnError, match="truncated"):
        read_idx(tmp_path / "b.idx")
    (tmp_path / "c.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(bl.BiaslearnError, match="bad magic"):
        read_idx(tmp_path / "c.idx")


def test_user_idx_directory(tmp_path, monkeypatch):
    _fake_mnist_dir(tmp_path / "kmnist")
    task = bl.load_task("kmnist", data_dir=tmp_path)
    assert task.train.x.shape == (30, 784) and task.test.x.shape == (10, 784)
    assert 0 <= float(task.train.x.min()) and float(task.train.x.max()) <= 1


def test_missing_data_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("BIASLEARN_DATA_DIR", raising=False)
    with pytest.raises(bl.BiaslearnError, match="set BIASLEARN_DATA_DIR or pass --data-dir"):
        bl.load_task("mnist")
    monkeypatch.setenv("BIASLEARN_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(bl.BiaslearnError, match="apt-get install dataset-fashion-mnist"):
        bl.load_task("fashion-mnist")
    with pytest.raises(bl.BiaslearnError, match="dataset: unknown 'cifar'; valid: fashion-mnist"):
        bl.load_task("cifar")
    with pytest.raises(bl.BiaslearnError, match="task variant: unknown 'blurred'"):
        bl.load_task("digits+blurred:2")


def test_real_small_datasets():
    subset = bl.load_task("mnist-subset")
    assert (len(subset.train), len(subset.test), subset.in_features, subset.n_classes) == (4000, 1000, 784, 10)
    digits28 = bl.load_task("digits28")
    assert digits28.in_features == 784 and len(digits28.train) == 1437


def test_mnist1d_is_made_offline_without_touching_global_generators():
    import random

    np.random.seed(5)
    random.seed(5)
    want = np.random.rand(), random.random()
    np.random.seed(5)
    random.seed(5)
    task = images._mnist1d()  # uncached: the package's generator really runs
    assert (np.random.rand(), random.random()) == want  # the package seeds numpy and random globally; restored
    assert (len(task.train), len(task.test), task.in_features, task.n_classes) == (4000, 1000, 40, 10)
    assert abs(float(task.train.x.mean())) < 0.1 and set(task.test.y.tolist()) == set(range(10))


def test_variants(digits):
    permuted = bl.load_task("digits+permuted:5")
    assert torch.equal(permuted.train.x.sort(dim=1).values, digits.train.x.sort(dim=1).values)
    assert not torch.equal(permuted.train.x, digits.train.x)
    assert torch.equal(bl.load_task("digits+permuted:5").train.x, permuted.train.x)
    assert torch.allclose(bl.load_task("digits+rotated:0").train.x, digits.train.x, atol=1e-5)
    turned = bl.load_task("digits+rotated:90").train.x.reshape(-1, 8, 8)
    assert torch.allclose(turned, torch.rot90(digits.train.x.reshape(-1, 8, 8), 1, dims=(1, 2)), atol=1e-4)
    sub = bl.load_task("digits+classes:3-5")
    assert sub.n_classes == 3 and set(sub.train.y.tolist()) == {0, 1, 2}
    assert len(bl.load_task("digits+train:100").train) == 100
    wide = bl.load_task("digits+padded:100")
    assert wide.in_features == 100 and torch.equal(wide.test.x[:, :64], digits.test.x) and not wide.test.x[:, 64:].any()
    with pytest.raises(bl.BiaslearnError, match="pad to at least"):
        bl.load_task("digits+padded:10")


def test_checksum_mismatch_is_reported(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.idx", array)
    with pytest.raises(bl.BiaslearnError, match="checksum mismatch"):
        read_idx(tmp_path / "a.idx", expected_sha256="0" * 64)


def test_fashion_mnist_installed_and_intact():
    task = bl.load_task("fashion-mnist")  # CI installs the Debian package; checksums verified on load
    assert (len(task.train), len(task.test), task.in_features, task.n_classes) == (60000, 10000, 784, 10)


def test_cached_dataset_does_not_mask_a_changed_folder(tmp_path, monkeypatch):
    bl.load_task("fashion-mnist")
    monkeypatch.setenv("BIASLEARN_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(bl.BiaslearnError, match="no IDX files"):
        bl.load_task("fashion-mnist")
