"""Forecast metrics for trajectories of shape (time, dim) (or (batch, time, dim), averaged over batch
where stated), and the autocorrelation horizon of a signal.

- normalised error e_t = ||ŷ_t - y_t|| / sqrt(Σ_d σ_d²), σ_d the std of the *true* coordinate d over
  the reference data (`scale`; by default the forecast window itself): 0 for a perfect forecast,
  ~sqrt(2) for an independent sample of the attractor.
- valid prediction time (VPT): the first t with e_t > threshold (default 0.4, as in Vlachas et al.
  2020 / Gilpin 2021 use 0.4-0.5); equals the horizon if never exceeded. Reported in steps and in
  Lyapunov times (t · dt · λ_max).
- sMAPE in percent on the 0-200 scale: 200/T Σ_t mean_d |ŷ - y| / (|ŷ| + |y|) (terms with
  |ŷ| + |y| = 0 count 0). Depends on the origin of the coordinates: we compute it on the
  standardised coordinates the networks see, and say so.
- multi-step error: RMSE at each lead time (averaged over coordinates and forecasts).
"""

from __future__ import annotations

import math

import numpy as np

from biaslearn.errors import BiaslearnError

VPT_THRESHOLD = 0.4


def _as2d(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def _check(pred, true) -> tuple[np.ndarray, np.ndarray]:
    pred, true = _as2d(pred), _as2d(true)
    if pred.shape != true.shape:
        raise BiaslearnError(f"forecast: expected prediction and truth of equal shape, got {pred.shape} and {true.shape}")
    return pred, true


def normalized_error(pred, true, scale=None) -> np.ndarray:
    """e_t (time,) for (time, dim) arrays; `scale` (dim,) is the per-coordinate std of the truth."""
    pred, true = _check(pred, true)
    std = true.std(0) if scale is None else np.broadcast_to(np.asarray(scale, dtype=np.float64), (true.shape[1],))
    denom = math.sqrt(float((std**2).sum())) or 1.0
    return np.linalg.norm(pred - true, axis=1) / denom


def valid_prediction_steps(pred, true, *, threshold: float = VPT_THRESHOLD, scale=None) -> int:
    """Number of leading steps with normalised error <= threshold."""
    err = normalized_error(pred, true, scale)
    above = np.nonzero(err > threshold)[0]
    return int(above[0]) if above.size else len(err)


def valid_prediction_time(pred, true, *, dt: float, lyapunov: float, threshold: float = VPT_THRESHOLD, scale=None) -> float:
    """VPT in Lyapunov times: valid steps · dt · λ_max."""
    return valid_prediction_steps(pred, true, threshold=threshold, scale=scale) * dt * lyapunov


def smape(pred, true) -> float:
    """Symmetric mean absolute percentage error, percent, scale 0-200."""
    pred, true = _check(pred, true)
    num = np.abs(pred - true)
    den = np.abs(pred) + np.abs(true)
    terms = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(200.0 * terms.mean())


def multi_step_rmse(pred, true) -> np.ndarray:
    """RMSE per lead time: pred/true (batch, time, dim) or (time, dim) -> (time,)."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise BiaslearnError(f"forecast: expected equal shapes, got {pred.shape} and {true.shape}")
    sq = (pred - true) ** 2
    axes = tuple(i for i in range(sq.ndim) if i != sq.ndim - 2)
    return np.sqrt(sq.mean(axis=axes))


def autocorrelation(signal, max_lag: int) -> np.ndarray:
    """Normalised autocorrelation ρ(0..max_lag) of a 1-D signal (ρ(0) = 1)."""
    x = np.asarray(signal, dtype=np.float64).ravel()
    x = x - x.mean()
    var = float((x * x).mean())
    if var == 0 or max_lag >= len(x):
        raise BiaslearnError(f"autocorrelation: expected a non-constant signal longer than max_lag={max_lag}, got {len(x)} samples")
    return np.array([float((x[: len(x) - k] * x[k:]).mean()) / var for k in range(max_lag + 1)])


def half_width_half_maximum(signal, max_lag: int = 1000) -> float:
    """Lag (in samples, linearly interpolated) where the autocorrelation first falls to 1/2."""
    rho = autocorrelation(signal, max_lag)
    below = np.nonzero(rho <= 0.5)[0]
    if not below.size:
        raise BiaslearnError(f"autocorrelation stays above 1/2 up to lag {max_lag}; raise max_lag")
    k = int(below[0])
    return k - 1 + (rho[k - 1] - 0.5) / (rho[k - 1] - rho[k])


__all__ = ["normalized_error", "valid_prediction_steps", "valid_prediction_time", "smape", "multi_step_rmse",
           "autocorrelation", "half_width_half_maximum", "VPT_THRESHOLD"]
