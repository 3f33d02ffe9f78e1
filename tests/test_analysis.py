"""Analysis functions on synthetic data with known answers."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from biaslearn.analysis import (
    cluster_profiles, cluster_strength, normalise_profiles, rowwise_spearman, selectivity, shuffled_strength,
    switched_off_fraction, task_variance, units_used, within_cluster_mean,
)
from biaslearn.errors import BiaslearnError


def planted(units_per=60, tasks=4, noise=0.05, seed=0):
    """Units selective to one task each (profile 1 there, ~0.1 elsewhere) plus noise."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(tasks), units_per)
    tv = 0.1 + noise * rng.random((len(truth), tasks))
    tv[np.arange(len(truth)), truth] = 1.0
    return tv * rng.uniform(0.5, 2, size=(len(truth), 1)), truth


def test_task_variance_and_switched_off():
    h = torch.tensor([[0.0, 1.0, 2.0], [0.0, 3.0, 2.0]])
    np.testing.assert_allclose(task_variance(h), [0.0, 1.0, 0.0])
    assert switched_off_fraction(h) == pytest.approx(1 / 3)
    with pytest.raises(BiaslearnError, match="expected"):
        task_variance(torch.zeros(1, 3))


def test_silhouette_finds_planted_clusters():
    tv, truth = planted()
    prof, keep = normalise_profiles(tv)
    assert keep.all() and np.allclose(prof.max(1), 1)
    result = cluster_profiles(prof, (2, 8), seed=0)
    assert result.k == 4
    # each found cluster is exactly one planted group
    for c in range(4):
        assert len(set(truth[result.labels == c])) == 1
    assert cluster_strength(prof, result.labels) > 0.9 > shuffled_strength(prof, 4, seed=0)


def test_normalise_drops_silent_units():
    tv = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]])
    prof, keep = normalise_profiles(tv)
    assert keep.tolist() == [True, False, True]
    np.testing.assert_allclose(prof, [[0.5, 1.0], [1.0, 1 / 3]])


def test_rowwise_spearman_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 7)), rng.normal(size=(20, 7))
    got = rowwise_spearman(a, b)
    want = [spearmanr(a[i], b[i]).statistic for i in range(20)]
    np.testing.assert_allclose(got, want, atol=1e-12)
    means = within_cluster_mean(got, np.array([0] * 10 + [1] * 10))
    assert means[0] == pytest.approx(np.mean(want[:10]))


def test_units_used_thresholds():
    tv = np.array([0.0, 0.001, 0.5, 2.0])
    assert units_used(tv, (0.0, 0.01, 1.0), reference=1.0) == {"0": 3, "0.01": 2, "1": 1}


def test_selectivity_report_with_bias():
    tv, _ = planted(units_per=30)
    bias = np.log(tv) + 0.01  # bias rising with TV: Spearman +1 per unit
    summary, arrays = selectivity(tv, bias, seed=0, k_range=(2, 6))
    assert summary["k"] == 4
    assert summary["spearman_tv_bias_cluster_mean"] == pytest.approx(1.0)
    assert summary["cluster_strength"] > summary["shuffled_strength"]
