"""Multi-task on one random network: each task's own bias vector beats every other task's."""

import dataclasses

import numpy as np
import pytest

from biaslearn.experiments import multitask
from biaslearn.models.bank import BiasBank
from biaslearn.results import RunFolder

TINY = dict(tasks=("mnist-subset", "digits28", "mnist-subset+permuted:1"), fallbacks=(), n_tasks=3, width=512,
            methods=("bias", "readout"), seeds=(0,), epochs=4, lrs=("bias=0.05", "readout=0.01"), cross_samples=300)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = RunFolder(tmp_path_factory.mktemp("mt"), show_progress=False)
    config = dataclasses.replace(multitask.Config(), **TINY)
    return folder, multitask.run(config, folder)


def test_own_bias_vector_beats_wrong_tasks_vector(tiny_run):
    folder, summary = tiny_run
    cross = folder.load_arrays("cross_accuracy")["accuracy"][0]
    for i in range(len(cross)):
        others = np.delete(cross[i], i)
        assert cross[i, i] > others.max() + 0.2, cross
    assert summary["own_bias_accuracy"] > 0.6


def test_bank_file_and_figures(tiny_run):
    folder, summary = tiny_run
    bank = BiasBank.load(folder.path / "bias_bank_s0.safetensors")
    assert bank.names() == summary["tasks"]
    assert (folder.path / "accuracy_per_task.png").exists() and (folder.path / "cross_task_accuracy.png").exists()
    params = {r["method"]: r["trained_parameters"] for r in summary["table"]}
    assert params["bias"] == 512 + 10 and params["readout"] == 512 * 10 + 10


def test_missing_user_datasets_fall_back(monkeypatch):
    monkeypatch.delenv("BIASLEARN_DATA_DIR", raising=False)
    config = dataclasses.replace(multitask.Config(), tasks=("kmnist", "digits28"), fallbacks=("mnist-subset",), n_tasks=2)
    tasks, skipped = multitask.resolve_tasks(config)
    assert tasks == ["digits28", "mnist-subset"] and "kmnist" in skipped
