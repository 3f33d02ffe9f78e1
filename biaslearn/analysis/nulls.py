"""Null distributions for the task-selectivity statistics (Fig. 1C) and their permutation p-values.

Spearman(TV, bias) per unit, across tasks, is positive by construction for a ReLU unit: the
variance of relu(z + b) rises with b. Two nulls separate that from task structure:

- label shuffle: per unit, which task's bias is paired with which task's TV is permuted
  (independently per unit and per permutation); the statistic's expected value is 0;
- untrained biases: the same frozen network with per-task bias vectors drawn from the trained
  biases' distribution but not trained on anything (`untrained_biases`); TV is recomputed with
  them (`task_variance_with_biases`) and the statistic computed the same way. This null keeps the
  by-construction part of the correlation and removes what training put there.

The cluster R² null (profiles' task columns permuted across units) is `shuffled_strengths` in
`biaslearn.analysis.clusters`. p-values are one-sided, P(null >= observed), with the +1
correction of a permutation test, so the smallest possible is 1 / (draws + 1)."""

from __future__ import annotations

import numpy as np
import torch

from biaslearn.errors import BiaslearnError

UNTRAINED_MODES = ("within-task", "pooled")


def _centred_ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    r = rankdata(np.asarray(x, dtype=np.float64), axis=1)
    return r - r.mean(1, keepdims=True)


def _check_pair(tv: np.ndarray, bias: np.ndarray, labels: np.ndarray) -> None:
    if tv.ndim != 2 or tv.shape != bias.shape or tv.shape[1] < 2:
        raise BiaslearnError(f"tv, bias: expected equal shapes (units, tasks >= 2), got {tv.shape} and {bias.shape}")
    if labels.shape != (tv.shape[0],):
        raise BiaslearnError(f"labels: expected shape ({tv.shape[0]},), got {labels.shape}")


def _statistics(rho: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rho (draws, units) -> (mean over units, mean of the clusters' means), each (draws,), nan ignored."""
    finite = np.isfinite(rho)
    values = np.where(finite, rho, 0.0)
    unit_mean = values.sum(1) / np.maximum(finite.sum(1), 1)
    clusters = np.unique(labels)
    onehot = (labels[None, :] == clusters[:, None]).astype(np.float64)  # (clusters, units)
    sums, counts = values @ onehot.T, finite.astype(np.float64) @ onehot.T
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    return unit_mean, np.nanmean(means, axis=1)


def spearman_statistics(tv: np.ndarray, bias: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Per-unit Spearman(TV, bias) across tasks, summarised as the mean over units ("unit_mean")
    and the mean of the per-cluster means ("cluster_mean", the paper's). tv, bias: (units, tasks)."""
    tv, bias, labels = np.asarray(tv), np.asarray(bias), np.asarray(labels)
    _check_pair(tv, bias, labels)
    ra, rb = _centred_ranks(tv), _centred_ranks(bias)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    unit_mean, cluster_mean = _statistics(rho[None, :], labels)
    return {"unit_mean": float(unit_mean[0]), "cluster_mean": float(cluster_mean[0])}


def label_shuffle_null(tv: np.ndarray, bias: np.ndarray, labels: np.ndarray, *, permutations: int,
                       generator: torch.Generator, chunk: int = 16) -> dict[str, np.ndarray]:
    """`spearman_statistics` with each unit's bias values permuted across tasks, independently per
    unit and per permutation -> {"unit_mean": (permutations,), "cluster_mean": (permutations,)}."""
    tv, bias, labels = np.asarray(tv), np.asarray(bias), np.asarray(labels)
    _check_pair(tv, bias, labels)
    if not isinstance(permutations, int) or permutations < 1:
        raise BiaslearnError(f"permutations: expected a positive int, got {permutations!r}")
    ra, rb = _centred_ranks(tv), _centred_ranks(bias)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_denom = 1 / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))  # a permutation leaves it unchanged
    units, tasks = tv.shape
    out = {"unit_mean": [], "cluster_mean": []}
    for start in range(0, permutations, chunk):
        n = min(chunk, permutations - start)
        perm = torch.rand((n, units, tasks), generator=generator, dtype=torch.float64).argsort(-1).numpy()
        shuffled = np.take_along_axis(np.broadcast_to(rb, (n, units, tasks)), perm, axis=2)
        rho = (ra[None] * shuffled).sum(2) * inv_denom[None]
        unit_mean, cluster_mean = _statistics(rho, labels)
        out["unit_mean"].append(unit_mean)
        out["cluster_mean"].append(cluster_mean)
    return {k: np.concatenate(v) for k, v in out.items()}


def untrained_biases(bias: np.ndarray, *, mode: str, generator: torch.Generator) -> np.ndarray:
    """(units, tasks) trained biases -> biases of the same shape trained on nothing:

    - "within-task": each task's bias vector permuted across units (each task keeps its own
      distribution of biases; which unit gets which is random);
    - "pooled": every entry drawn with replacement from all trained biases (tasks alike)."""
    bias = np.asarray(bias, dtype=np.float64)
    if bias.ndim != 2:
        raise BiaslearnError(f"bias: expected (units, tasks), got shape {bias.shape}")
    units, tasks = bias.shape
    if mode == "within-task":
        perm = torch.rand((units, tasks), generator=generator, dtype=torch.float64).argsort(0).numpy()
        return np.take_along_axis(bias, perm, axis=0)
    if mode == "pooled":
        idx = torch.randint(bias.size, (units, tasks), generator=generator).numpy()
        return bias.reshape(-1)[idx]
    raise BiaslearnError(f"mode: expected one of {', '.join(UNTRAINED_MODES)}, got {mode!r}")


def task_variance_with_biases(model, x: torch.Tensor, biases: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """TV (draws, units) of a one-hidden-layer network on inputs x (samples, in_features) for each
    of several hidden bias vectors (draws, units): activation(x W^T + b), x W^T computed once.
    Equals `task_variance(hidden_activity(model, x))` with the model's bias set to each b (to float32
    rounding; a unit that is zero on every input has TV exactly 0 in both)."""
    layers = list(model.hidden)
    if len(layers) != 1 or len(getattr(model, "gates", ())):
        raise BiaslearnError(f"model: expected one ungated hidden layer, got {len(layers)} layer(s)")
    biases = np.asarray(biases)
    units = layers[0].out_features
    if biases.ndim != 2 or biases.shape[1] != units:
        raise BiaslearnError(f"biases: expected (draws, {units}), got shape {biases.shape}")
    with torch.no_grad():
        z = torch.cat([xb @ layers[0].weight.T for xb in x.split(batch_size)])
        # float32 variance (population, over samples): the double copy `task_variance` makes would
        # double the time of the untrained null, for a relative difference of ~1e-6
        out = [model.activation(z + torch.as_tensor(b, dtype=z.dtype)).var(0, unbiased=False).double().numpy() for b in biases]
    return np.stack(out)


def permutation_p(observed: float, null) -> float:
    """One-sided p-value P(null >= observed) with the +1 correction: (1 + #{null >= obs}) / (1 + n)."""
    null = np.asarray(null, dtype=np.float64)
    null = null[np.isfinite(null)]
    if not np.isfinite(observed) or not len(null):
        return float("nan")
    return float((1 + (null >= observed).sum()) / (1 + len(null)))


def describe(observed: float, null) -> dict:
    """JSON-able comparison of an observed statistic with its null draws."""
    null = np.asarray(null, dtype=np.float64)
    sd = float(null.std(ddof=1)) if len(null) > 1 else float("nan")
    z = (observed - null.mean()) / sd if sd > 0 else float("nan")  # where p sits at its floor, z says how far beyond
    return {"observed": float(observed), "null_mean": float(null.mean()), "null_sd": sd, "z": float(z),
            "draws": int(len(null)), "p": permutation_p(observed, null)}
