"""Task variance (Yang et al. 2019): TV[u, t] = variance of unit u's activity over task t's inputs.

With one bias vector per task (a bias bank), the activity for task t is h = relu(X_t W^T + b_t)
computed with task t's biases; with a multi-head network it is the shared layer's activity."""

from __future__ import annotations

import numpy as np
import torch

from biaslearn.errors import BiaslearnError


def hidden_activity(model, x: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
    """Last hidden layer's activity (samples, units) in eval mode (hard gates), no gradients."""
    was = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            out.append(model.hidden_activity(x[start : start + batch_size])[-1])
    model.train(was)
    return torch.cat(out)


def task_variance(activity: torch.Tensor) -> np.ndarray:
    """(samples, units) -> (units,) population variance over samples, float64."""
    if activity.dim() != 2 or activity.shape[0] < 2:
        raise BiaslearnError(f"activity: expected (samples >= 2, units), got {tuple(activity.shape)}")
    return activity.double().var(0, unbiased=False).numpy()


def switched_off_fraction(activity: torch.Tensor) -> float:
    """Fraction of units that are exactly zero on every input (a ReLU unit switched off)."""
    return float((activity.abs().amax(0) == 0).double().mean())


def normalise_profiles(tv: np.ndarray, min_total: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """(units, tasks) -> (profiles of kept units, each divided by its maximum over tasks; kept mask).

    Units whose summed TV is below `min_total` times the largest unit's sum are dropped (as in
    Yang et al., who exclude inactive units before clustering)."""
    tv = np.asarray(tv, dtype=np.float64)
    if tv.ndim != 2:
        raise BiaslearnError(f"tv: expected (units, tasks), got shape {tv.shape}")
    total = tv.sum(1)
    keep = total > min_total * max(total.max(), 1e-300)
    prof = tv[keep] / tv[keep].max(1, keepdims=True)
    return prof, keep


def units_used(tv: np.ndarray, thresholds: tuple[float, ...], reference: float | None = None) -> dict[str, int]:
    """Units with TV above each threshold, thresholds relative to `reference` (default: mean TV).

    Threshold 0 counts units with any variance at all (strictly positive)."""
    tv = np.asarray(tv, dtype=np.float64)
    ref = float(tv.mean()) if reference is None else float(reference)
    return {f"{t:g}": int((tv > t * ref).sum()) for t in thresholds}
