"""Rank correlations between per-unit quantities (task variance, learned bias, unit variance)."""

from __future__ import annotations

import numpy as np


def spearman(a, b) -> float:
    """Spearman's rho of two equal-length vectors (nan if either is constant)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(units, tasks) x (units, tasks) -> (units,) Spearman rho across tasks for each unit."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra, rb = ra - ra.mean(1, keepdims=True), rb - rb.mean(1, keepdims=True)
    denom = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(1) / denom, np.nan)


def within_cluster_mean(values: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """Mean of `values` (ignoring nan) within each cluster label."""
    out = {}
    for c in np.unique(labels):
        v = values[labels == c]
        v = v[np.isfinite(v)]
        out[int(c)] = float(v.mean()) if len(v) else float("nan")
    return out
