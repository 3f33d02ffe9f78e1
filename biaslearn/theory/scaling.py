"""Scaling laws: power-law fits of error vs width, the width needed to reach eps with probability
>= 1 - delta, and the width the proof's bound asks for.

The bound (scheme "single", U = [-r, r]^d, target units n, parameters in [-gamma, gamma] with
gamma + eta <= R): a target unit's error is at most eta * K with K = gamma (2 d r + 1) + d r eta
when an N2 unit lies within eta of it in each of its d + 1 weights, so eta = eps / (n K) suffices.
One N2 unit lands in a given window with probability p = (eta / R)^(d + 1); a union bound over
the n target units gives failure probability <= n (1 - p)^N <= n exp(-p N), hence

    N_bound(eps) = (R / eta)^(d + 1) log(n / delta)  ~  (n gamma (2d+1) r R / eps)^(d + 1) log(n / delta).

For the "subset" scheme only the d incoming weights need a window: growth (1/eps)^d up to logs.
"""

from __future__ import annotations

import math

import numpy as np

from biaslearn.errors import BiaslearnError


def fit_power_law(x, y) -> dict[str, float]:
    """Least squares fit of log y = log prefactor + exponent * log x over points with y > 0.
    Returns {"exponent", "prefactor", "r2", "points"}; exponent is NaN with fewer than 2 points."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    lx, ly = np.log(x[keep]), np.log(y[keep])
    if keep.sum() < 2 or np.ptp(lx) == 0:
        return {"exponent": float("nan"), "prefactor": float("nan"), "r2": float("nan"), "points": int(keep.sum())}
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (slope * lx + intercept)
    total = ((ly - ly.mean()) ** 2).sum()
    r2 = 1 - (resid**2).sum() / total if total > 0 else 1.0
    return {"exponent": float(slope), "prefactor": float(np.exp(intercept)), "r2": float(r2), "points": int(keep.sum())}


def bound_width(eps: float, units: int, dim: int, gamma: float, R: float, delta: float, radius: float = 1.0) -> float:
    """N_bound(eps) of the module docstring (scheme "single"); inf when the target's parameters
    do not fit in the sampling range (gamma + eta > R): then no width suffices."""
    if not (eps > 0 and 0 < delta < 1 and units >= 1 and dim >= 1 and gamma > 0 and R > 0):
        raise BiaslearnError(f"bound_width: expected eps > 0, 0 < delta < 1, positive sizes; got eps={eps}, delta={delta}")
    # solve eta * (gamma (2 d r + 1) + d r eta) = eps / n for eta > 0
    A, B = dim * radius, gamma * (2 * dim * radius + 1)
    eta = (-B + math.sqrt(B * B + 4 * A * eps / units)) / (2 * A)
    if gamma + eta > R:
        return float("inf")
    return (R / eta) ** (dim + 1) * math.log(units / delta)


def first_passage_width(widths, errors, eps: float) -> float:
    """Smallest width from which on the error stays <= eps (errors along increasing widths of one
    nested sequence of networks); inf if the last error is above eps."""
    widths, errors = np.asarray(widths, dtype=float), np.asarray(errors, dtype=float)
    if not np.all(np.diff(widths) > 0):
        raise BiaslearnError("widths: expected strictly increasing widths")
    above = np.nonzero(errors > eps)[0]
    if len(above) == 0:
        return float(widths[0])
    last = above[-1]
    return float(widths[last + 1]) if last + 1 < len(widths) else float("inf")


def width_needed(widths, errors_by_seed, eps: float, delta: float) -> float:
    """Width at which a fraction >= 1 - delta of seeds have reached eps for good: the
    ceil((1 - delta) * seeds)-th smallest first-passage width (inf if not reached in range).
    `errors_by_seed` is (seeds, widths)."""
    errors_by_seed = np.asarray(errors_by_seed, dtype=float)
    passage = np.sort([first_passage_width(widths, e, eps) for e in errors_by_seed])
    k = int(math.ceil((1 - delta) * len(passage) - 1e-9))
    return float(passage[max(k, 1) - 1])


def success_probability(errors, eps: float) -> float:
    """Fraction of runs with error <= eps."""
    errors = np.asarray(errors, dtype=float)
    return float((errors <= eps).mean()) if errors.size else float("nan")


__all__ = ["fit_power_law", "bound_width", "first_passage_width", "width_needed", "success_probability"]
