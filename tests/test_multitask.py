"""Multi-task on one random network: each task's own bias vector beats every other task's; every
method is chosen on validation (bias-only's gain one per network); the gap to full training is
tabulated against task difficulty."""

import csv
import dataclasses

import numpy as np
import pytest

from biaslearn.errors import BiaslearnError
from biaslearn.experiments import multitask, taskbank
from biaslearn.models.bank import BiasBank
from biaslearn.results import RunFolder

TINY = dict(tasks=("mnist-subset", "digits28", "mnist1d+padded:784"), width=512, full_width=64, seeds=(0,), epochs=4, min_steps=60,
            learning_rates=("bias=0.03/0.1", "readout=0.01", "full=0.003"), gains=("bias=4/16",), cross_samples=300)


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
        assert cross[i, i] > others.max() + 0.1, cross  # MNIST-1D: ~25% own vs chance at this size
    assert summary["own_bias_accuracy"] > 0.45


def test_bank_holds_the_chosen_epochs_biases_and_one_gain_per_network(tiny_run):
    folder, summary = tiny_run
    bank = BiasBank.load(folder.path / "bias_bank_s0.safetensors")
    assert bank.names() == summary["tasks"]
    chosen = list(csv.DictReader(open(folder.path / "results.csv")))
    bias = [r for r in chosen if r["method"] == "bias"]
    assert len({r["gain"] for r in bias}) == 1  # one frozen readout for every bias vector
    cross = folder.load_arrays("cross_accuracy")["accuracy"][0]
    for i, row in enumerate(bias):  # the bank reproduces each chosen candidate's test accuracy (first 300 inputs)
        assert row["task"] == summary["tasks"][i]
        assert abs(cross[i, i] - float(row["test_accuracy"])) < 0.1
    params = {r["method"]: r["trained_parameters"] for r in summary["table"]}
    assert params["bias"] == 512 + 10 and params["readout"] == 512 * 10 + 10 and params["full"] == 784 * 64 + 64 + 64 * 10 + 10


def test_gap_vs_difficulty_and_figures(tiny_run):
    folder, summary = tiny_run
    gaps = summary["gaps"]
    assert [g["difficulty"] for g in gaps] == sorted(g["difficulty"] for g in gaps)
    assert gaps[-1]["task"] == "mnist1d+padded:784"  # MNIST-1D is the hard end for an MLP
    for name in ("accuracy_per_task.png", "cross_task_accuracy.png", "gap_vs_difficulty.png", "gap_vs_difficulty.csv"):
        assert (folder.path / name).exists(), name
    assert "gap to full training" in multitask.format_summary(summary)


def test_shared_gain_is_the_best_mean_over_tasks():
    rows = [dict(method="bias", seed=0, task=t, gain=g, validation_accuracy=v)
            for t, g, v in (("a", 4.0, 0.9), ("b", 4.0, 0.5), ("a", 16.0, 0.8), ("b", 16.0, 0.7), ("a", 16.0, 0.1))]
    assert multitask.shared_gain(rows, 0) == 16.0  # mean of per-task bests 0.75 > 0.70, though task a prefers 4


def test_missing_user_datasets_are_skipped_and_mismatched_inputs_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("BIASLEARN_DATA_DIR", raising=False)
    tasks, skipped = taskbank.resolve_tasks(("kmnist", "digits28", "mnist-subset"))
    assert tasks == ["digits28", "mnist-subset"] and "kmnist" in skipped
    config = dataclasses.replace(multitask.Config(), **{**TINY, "tasks": ("digits28", "mnist1d")})
    with pytest.raises(BiaslearnError, match="padded:784"):
        multitask.run(config, RunFolder(tmp_path, show_progress=False))
    with pytest.raises(BiaslearnError, match="methods"):
        multitask.Config(methods=("readout", "full"))
