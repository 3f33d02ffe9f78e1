"""Task selectivity of a small bias bank: units cluster by task far better than shuffled profiles,
and Spearman(TV, bias) stands against its nulls (label shuffle; untrained biases)."""

import csv
import dataclasses

import numpy as np
import pytest
import torch

from biaslearn import rng
from biaslearn.analysis import (
    cluster_profiles, cluster_strength, hidden_activity, label_shuffle_null, normalise_profiles, permutation_p,
    shuffled_strengths, spearman_statistics, task_variance, task_variance_with_biases, untrained_biases,
)
from biaslearn.errors import BiaslearnError
from biaslearn.experiments import task_selectivity
from biaslearn.models.feedforward import feedforward
from biaslearn.results import RunFolder

TINY = dict(tasks=("mnist-subset", "digits28", "mnist-subset+permuted:1", "mnist-subset+rotated:90"), fallbacks=(),
            n_tasks=4, width=512, seeds=(0, 1), epochs=4, lrs=("bias=0.05",), samples=300, k_max=6,
            multihead_width=64, multihead_epochs=1, label_permutations=100, untrained_draws=4, cluster_shuffles=3)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = RunFolder(tmp_path_factory.mktemp("ts"), show_progress=False)
    config = dataclasses.replace(task_selectivity.Config(), **TINY)
    return folder, task_selectivity.run(config, folder)


def test_clusters_align_with_tasks_better_than_shuffled(tiny_run):
    _, summary = tiny_run
    s = summary["bias_bank"]["0"]
    assert s["cluster_strength"] > s["shuffled_strength"] + 0.1
    assert s["cluster_strength_p"] == pytest.approx(1 / 4)  # above all 3 shuffles: the smallest p 3 draws allow
    assert 2 <= s["k"] <= 6


def test_spearman_beats_label_shuffle_null_and_untrained_nulls_exist(tiny_run):
    _, summary = tiny_run
    for seed in ("0", "1"):
        nulls = summary["bias_bank"][seed]["nulls"]
        for stat in ("spearman_unit_mean", "spearman_cluster_mean"):
            label = nulls[stat]["label_shuffle"]
            assert label["observed"] > label["null_mean"] + 0.3 and abs(label["null_mean"]) < 0.1
            assert label["p"] == pytest.approx(1 / 101) and label["draws"] == 100
            for mode in ("untrained_within-task", "untrained_pooled"):
                d = nulls[stat][mode]
                assert d["draws"] == 4 and np.isfinite(d["null_mean"]) and 0 < d["p"] <= 1
                assert d["null_mean"] > 0.3  # positive by construction, without any training
    pooled = summary["across_seeds"]["spearman_cluster_mean"]["label_shuffle"]
    assert pooled["seeds"] == 2 and pooled["observed_sem"] >= 0 and pooled["p_max"] < 0.05


def test_outputs(tiny_run):
    folder, summary = tiny_run
    for name in ("task_variance_clusters.png", "silhouette.png", "bias_distribution.png", "nulls.png", "selectivity.json",
                 "selectivity_stats.csv"):
        assert (folder.path / name).exists(), name
    assert set(summary["bias_bank"]["0"]["switched_off"]) == set(summary["tasks"])
    assert "multihead" in summary and summary["multihead"]["k"] >= 2
    with open(folder.path / "selectivity_stats.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["seed"] for r in rows} == {"0", "1", "mean"}
    assert {r["null"] for r in rows} == {"label_shuffle", "untrained_within-task", "untrained_pooled", "column_shuffle"}


# ---- the null functions on data with known answers ---------------------------------------------

def test_label_shuffle_null_independent_vs_monotone():
    g = np.random.default_rng(0)
    tv, labels = g.random((300, 7)), np.repeat(np.arange(3), 100)
    independent = g.random((300, 7))
    obs = spearman_statistics(tv, independent, labels)
    null = label_shuffle_null(tv, independent, labels, permutations=200, generator=rng.generator(0, "test"))
    assert null["unit_mean"].shape == (200,) and abs(null["unit_mean"].mean()) < 0.02
    assert permutation_p(obs["unit_mean"], null["unit_mean"]) > 0.05
    monotone = np.log(tv) * 3 + 1  # bias rising with TV in every unit: Spearman +1
    obs = spearman_statistics(tv, monotone, labels)
    assert obs["unit_mean"] == pytest.approx(1.0) and obs["cluster_mean"] == pytest.approx(1.0)
    null = label_shuffle_null(tv, monotone, labels, permutations=200, generator=rng.generator(0, "test"))
    assert permutation_p(obs["cluster_mean"], null["cluster_mean"]) == pytest.approx(1 / 201)
    again = label_shuffle_null(tv, monotone, labels, permutations=200, generator=rng.generator(0, "test"))
    np.testing.assert_array_equal(null["unit_mean"], again["unit_mean"])  # same generator, same draws


def test_permutation_p():
    assert permutation_p(2.0, [0.0, 1.0, 1.5]) == pytest.approx(1 / 4)
    assert permutation_p(-1.0, [0.0, 1.0, 1.5]) == 1.0
    assert permutation_p(1.0, [0.0, 1.0, 1.5]) == pytest.approx(3 / 4)  # ties count against the observed


def test_untrained_biases_keep_the_trained_distribution():
    bias = np.arange(40.0).reshape(10, 4)
    within = untrained_biases(bias, mode="within-task", generator=rng.generator(0, "test"))
    for t in range(4):
        assert sorted(within[:, t]) == sorted(bias[:, t])  # each task keeps its own biases
    assert not np.array_equal(within, bias)
    pooled = untrained_biases(bias, mode="pooled", generator=rng.generator(0, "test"))
    assert pooled.shape == bias.shape and np.isin(pooled, bias).all()
    with pytest.raises(BiaslearnError, match="expected one of within-task, pooled, got 'x'"):
        untrained_biases(bias, mode="x", generator=rng.generator(0, "test"))


def test_task_variance_with_biases_matches_the_model():
    model = feedforward(5, 30, 2, seed=0, weights="gaussian:1")
    x = torch.randn(200, 5, generator=rng.generator(0, "x"))
    biases = torch.randn(3, 30, generator=rng.generator(0, "b")).numpy()
    got = task_variance_with_biases(model, x, biases)
    for b, row in zip(biases, got):
        with torch.no_grad():
            model.hidden[0].bias.copy_(torch.from_numpy(b))
        np.testing.assert_allclose(row, task_variance(hidden_activity(model, x)), rtol=1e-5, atol=1e-7)
    with pytest.raises(BiaslearnError, match="expected one ungated hidden layer"):
        task_variance_with_biases(feedforward(5, [8, 8], 2, seed=0), x, np.zeros((1, 8)))


def test_relu_spearman_is_positive_without_training():
    """Why the untrained null is needed: random per-task biases alone give Spearman(TV, bias) > 0."""
    model = feedforward(10, 400, 2, seed=0, weights="gaussian:1")
    inputs = [torch.randn(300, 10, generator=rng.generator(t, "x")) for t in range(5)]  # tasks alike
    bias = torch.randn(400, 5, generator=rng.generator(0, "b")).numpy() * 0.5  # untrained: independent of the tasks
    tv = np.stack([task_variance_with_biases(model, x, bias[None, :, t])[0] for t, x in enumerate(inputs)], 1)
    assert spearman_statistics(tv, bias, np.zeros(400, dtype=int))["unit_mean"] > 0.3


def test_shuffled_strengths_null_below_planted_clusters():
    g = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 50)
    tv = 0.1 + 0.05 * g.random((150, 3))
    tv[np.arange(150), truth] = 1.0
    prof, _ = normalise_profiles(tv)
    observed = cluster_strength(prof, cluster_profiles(prof, (3, 3), seed=0).labels)
    null = shuffled_strengths(prof, 3, repeats=4, generator=rng.generator(0, "test"))
    assert null.shape == (4,) and null.max() < observed - 0.3
    assert permutation_p(observed, null) == pytest.approx(1 / 5)
