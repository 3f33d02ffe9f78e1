"""A saturating power law of accuracy vs width, acc(N) = a - b N^(-alpha), with its uncertainty.

Fitted by least squares (scipy's curve_fit) on log10(N); the uncertainty of anything derived from
the fit (a prediction at a width, the width that reaches a target accuracy) is a parametric
bootstrap: parameter draws from the fit's Gaussian approximation N(p, cov), each pushed through the
derived quantity, summarised by the 2.5 / 50 / 97.5 percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from biaslearn.errors import BiaslearnError


@dataclass(frozen=True)
class PowerLawFit:
    a: float  # the asymptote (accuracy as N -> infinity)
    b: float
    alpha: float
    covariance: tuple[tuple[float, ...], ...]  # of (a, b, alpha)
    residual_rms: float

    def predict(self, width) -> np.ndarray:
        return curve(np.log10(np.asarray(width, dtype=np.float64)), self.a, self.b, self.alpha)

    def width_for(self, target: float) -> float:
        """The width where the fitted curve reaches `target` (inf if the asymptote is below it)."""
        return width_at(target, self.a, self.b, self.alpha)


def curve(log_width, a, b, alpha):
    return a - b * np.power(10.0, -alpha * log_width)


def width_at(target: float, a: float, b: float, alpha: float) -> float:
    if a <= target or b <= 0 or alpha <= 0:
        return math.inf
    return float((b / (a - target)) ** (1.0 / alpha))


def fit(widths, accuracy, sigma=None) -> PowerLawFit:
    """Fit acc(N) = a - b N^(-alpha) to at least 4 (width, accuracy) points (accuracy in [0, 1];
    `sigma`: per-point standard errors, optional)."""
    from scipy.optimize import curve_fit

    n = np.asarray(widths, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    if n.shape != y.shape or len(n) < 4:
        raise BiaslearnError(f"power-law fit: expected >= 4 widths with one accuracy each, got {len(n)} and {len(y)}")
    if np.any(n <= 0) or not np.all(np.isfinite(y)):
        raise BiaslearnError("power-law fit: expected positive widths and finite accuracies")
    s = None if sigma is None else np.maximum(np.asarray(sigma, dtype=np.float64), 1e-4)
    start = (min(1.0, y.max() + 0.02), (y.max() - y.min() + 0.05) * n.min() ** 0.5, 0.5)
    try:
        params, cov = curve_fit(curve, np.log10(n), y, p0=start, sigma=s, absolute_sigma=s is not None,
                                bounds=([0.0, 0.0, 0.01], [1.0, np.inf, 3.0]), maxfev=20000)
    except (RuntimeError, ValueError) as err:
        raise BiaslearnError(f"power-law fit did not converge on widths {n.tolist()}: {err}") from None
    residual = y - curve(np.log10(n), *params)
    cov = np.nan_to_num(cov, nan=0.0, posinf=0.0, neginf=0.0)
    return PowerLawFit(float(params[0]), float(params[1]), float(params[2]), tuple(map(tuple, cov.tolist())),
                       float(np.sqrt(np.mean(residual**2))))


def draws(f: PowerLawFit, *, generator: torch.Generator, count: int = 4000) -> np.ndarray:
    """Parameter draws (count, 3) from N((a, b, alpha), cov), kept where b > 0 and alpha > 0."""
    mean = torch.tensor([f.a, f.b, f.alpha], dtype=torch.float64)
    cov = torch.tensor(f.covariance, dtype=torch.float64)
    vals, vecs = torch.linalg.eigh((cov + cov.T) / 2)
    root = vecs * vals.clamp(min=0).sqrt()
    z = torch.randn(count, 3, generator=generator, dtype=torch.float64)
    samples = (mean + z @ root.T).numpy()
    return samples[(samples[:, 1] > 0) & (samples[:, 2] > 0)]


def interval(values) -> tuple[float, float, float]:
    """(2.5, 50, 97.5) percentiles; infinite values count (a width never reached)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return (math.nan, math.nan, math.nan)
    lo, mid, hi = np.percentile(v, [2.5, 50, 97.5], method="nearest")  # no interpolation across inf
    return float(lo), float(mid), float(hi)
