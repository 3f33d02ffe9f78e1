"""The task-selectivity analysis of one (units, tasks) task-variance matrix (Fig. 1C): normalise,
cluster with silhouette-chosen K, compare the clusters' explained variance with column-shuffled
profiles (a permutation p-value), and (for bias banks) correlate TV with the learned bias per
unit, averaged per cluster. The Spearman nulls are in `biaslearn.analysis.nulls`."""

from __future__ import annotations

import numpy as np
import torch

from biaslearn import rng
from biaslearn.analysis.clusters import cluster_profiles, cluster_strength, shuffled_strengths
from biaslearn.analysis.nulls import permutation_p
from biaslearn.analysis.correlation import rowwise_spearman, within_cluster_mean
from biaslearn.analysis.task_variance import normalise_profiles


def selectivity(tv: np.ndarray, bias: np.ndarray | None = None, *, seed: int, k_range=(2, 20), shuffles: int = 3,
                generator: torch.Generator | None = None) -> tuple[dict, dict]:
    """tv, bias: (units, tasks). Returns (JSON-able summary, arrays for saving/plotting).

    `seed` seeds K-means; `generator` (default: stream "selectivity/shuffle" of `seed`) draws the
    `shuffles` column-shuffled copies of the profiles behind the cluster R² null and its p-value."""
    profiles, keep = normalise_profiles(tv)
    result = cluster_profiles(profiles, k_range, seed=seed)
    strength = cluster_strength(profiles, result.labels)
    generator = rng.generator(seed, "selectivity/shuffle") if generator is None else generator
    nulls = shuffled_strengths(profiles, result.k, repeats=shuffles, generator=generator)
    sizes = np.bincount(result.labels, minlength=result.k)
    summary = {
        "units_kept": int(keep.sum()), "units": int(len(keep)), "k": result.k,
        "silhouettes": {str(k): v for k, v in result.silhouettes.items()},
        "cluster_sizes": sizes.tolist(),
        "cluster_dominant_task": result.centres.argmax(1).tolist(),
        "cluster_strength": strength, "shuffled_strength": float(nulls.mean()),
        "shuffled_strengths": nulls.tolist(), "cluster_strength_p": permutation_p(strength, nulls),
        # share of kept units whose normalised profile peaks at one task with every other task < 0.5
        "selective_fraction": float(((profiles >= 0.5).sum(1) == 1).mean()),
    }
    arrays = {"profiles": profiles, "keep": keep, "labels": result.labels, "centres": result.centres}
    if bias is not None:
        rho = rowwise_spearman(tv[keep], bias[keep])
        per_cluster = within_cluster_mean(rho, result.labels)
        summary["spearman_tv_bias_by_cluster"] = {str(k): v for k, v in per_cluster.items()}
        summary["spearman_tv_bias_mean"] = float(np.nanmean(rho))
        summary["spearman_tv_bias_cluster_mean"] = float(np.nanmean(list(per_cluster.values())))
        arrays["spearman"] = rho
    return summary, arrays
