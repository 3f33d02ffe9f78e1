"""K-means clustering of normalised task-variance profiles, K chosen by silhouette (Yang et al.
2019), and a shuffle control: how much of the profiles' variance the clusters explain compared
with profiles whose task columns were permuted across units independently."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn import rng
from biaslearn.errors import BiaslearnError


@dataclass(frozen=True)
class ClusterResult:
    labels: np.ndarray  # (units,) cluster index, clusters ordered by their dominant task
    k: int
    silhouettes: dict[int, float]  # K -> silhouette score
    centres: np.ndarray  # (k, tasks)


def _kmeans(x: np.ndarray, k: int, seed: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    return rng.numpy_generator(seed, "clusters/silhouette-sample").choice(n, size=min(n, size), replace=False)


def cluster_profiles(profiles: np.ndarray, k_range=(2, 20), *, seed: int, silhouette_sample: int = 4000) -> ClusterResult:
    """K-means for each K in k_range (inclusive); the K with the best silhouette wins."""
    from sklearn.metrics import silhouette_score

    x = np.asarray(profiles, dtype=np.float64)
    lo, hi = k_range
    hi = min(hi, len(x) - 1)
    if x.ndim != 2 or hi < lo or lo < 2:
        raise BiaslearnError(f"profiles: need at least {lo + 1} units to cluster, got shape {x.shape}")
    scores, fits = {}, {}
    idx = _sample(len(x), silhouette_sample, seed)
    for k in range(lo, hi + 1):
        fit = _kmeans(x, k, seed)
        labels = fit.labels_
        scores[k] = float(silhouette_score(x[idx], labels[idx])) if len(set(labels[idx])) > 1 else -1.0
        fits[k] = fit
    best = max(scores, key=lambda k: scores[k])
    fit = fits[best]
    centres = fit.cluster_centers_
    order = np.lexsort((-centres.max(1), centres.argmax(1)))  # by dominant task, then peak
    remap = np.empty(best, dtype=np.int64)
    remap[order] = np.arange(best)
    return ClusterResult(remap[fit.labels_], best, scores, centres[order])


def cluster_strength(profiles: np.ndarray, labels: np.ndarray) -> float:
    """Share of the profiles' total variance explained by cluster means (1 - within/total)."""
    x = np.asarray(profiles, dtype=np.float64)
    total = ((x - x.mean(0)) ** 2).sum()
    within = sum(((x[labels == c] - x[labels == c].mean(0)) ** 2).sum() for c in np.unique(labels))
    return float(1 - within / total) if total > 0 else 0.0


def shuffled_strengths(profiles: np.ndarray, k: int, *, repeats: int, generator: torch.Generator) -> np.ndarray:
    """cluster_strength of K-means with the same K on `repeats` column-shuffled copies of the
    profiles (each task's column permuted across units independently): the null, (repeats,)."""
    x = np.asarray(profiles, dtype=np.float64)
    if not isinstance(repeats, int) or repeats < 1:
        raise BiaslearnError(f"repeats: expected a positive int, got {repeats!r}")
    values = []
    for _ in range(repeats):
        perm = torch.rand(x.shape, generator=generator, dtype=torch.float64).argsort(0).numpy()
        shuffled = np.take_along_axis(x, perm, axis=0)
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))  # sklearn takes an int seed
        values.append(cluster_strength(shuffled, _kmeans(shuffled, k, seed).labels_))
    return np.array(values)


def shuffled_strength(profiles: np.ndarray, k: int, *, seed: int, repeats: int = 3) -> float:
    """Mean of `shuffled_strengths` with a generator made from `seed`."""
    return float(shuffled_strengths(profiles, k, repeats=repeats, generator=rng.generator(seed, "clusters/shuffle")).mean())
