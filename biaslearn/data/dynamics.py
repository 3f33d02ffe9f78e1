"""Dynamical systems as data: Lorenz and Van der Pol integrated here, and the `dysts` catalogue
(pinned: dysts==0.96), as trajectories of shape (time, dim) with the sampling step and the largest
Lyapunov exponent, standardised per coordinate, cached on disk.

Integration (stated, used everywhere): scipy `solve_ivp` with DOP853 (explicit Runge-Kutta of order
8), rtol = 1e-10, atol = 1e-12, dense evaluation at the sample times. tests/test_dynamics.py checks
it against LSODA. Catalogue systems use dysts' own `make_trajectory` with method DOP853 and
rtol = atol = 1e-10 (dysts' default Radau at 1e-12 takes ~45 s for 2,000 Lorenz points on our
machine), resampled to `pts_per_period` points per dominant period, started at dysts' initial
condition (on the attractor).

Cache: `<cache_dir>/<key>.npz`, written atomically; cache_dir is the argument, else
$BIASLEARN_CACHE_DIR, else ~/.cache/biaslearn/dynamics.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biaslearn import atomic
from biaslearn.errors import BiaslearnError

METHOD, RTOL, ATOL = "DOP853", 1e-10, 1e-12
CATALOGUE_METHOD, CATALOGUE_TOL = "DOP853", 1e-10
DYSTS_VERSION = "0.96"
LORENZ_LYAPUNOV = 0.9056  # largest exponent of Lorenz-63 (σ=10, ρ=28, β=8/3), Sprott (2003)


@dataclass(frozen=True)
class Trajectory:
    """`values` (time, dim) float64 in the system's own units; `dt` time between samples;
    `lyapunov` largest Lyapunov exponent (per unit time; 0 for a limit cycle)."""

    name: str
    values: np.ndarray
    dt: float
    lyapunov: float

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(0)

    @property
    def std(self) -> np.ndarray:
        return self.values.std(0)

    def standardized(self) -> np.ndarray:
        """(values - mean) / std per coordinate, float32."""
        return ((self.values - self.mean) / self.std).astype(np.float32)

    @property
    def lyapunov_time_steps(self) -> float:
        """Samples per Lyapunov time 1/λ (inf for λ <= 0)."""
        return float("inf") if self.lyapunov <= 0 else 1.0 / (self.lyapunov * self.dt)


# ------------------------------------------------------------------------------- own systems
def lorenz_rhs(sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0):
    def rhs(t, s):
        x, y, z = s
        return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]

    return rhs


def vanderpol_rhs(mu: float = 1.0):
    """ẋ = y, ẏ = μ (1 - x²) y - x."""

    def rhs(t, s):
        x, y = s
        return [y, mu * (1 - x * x) * y - x]

    return rhs


def integrate(rhs, y0, dt: float, n: int, *, method: str = METHOD, rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    """n samples (n, dim) at times 0, dt, ..., (n-1) dt from y0."""
    from scipy.integrate import solve_ivp

    t = np.arange(n) * dt
    sol = solve_ivp(rhs, (0.0, t[-1]), np.asarray(y0, dtype=float), t_eval=t, method=method, rtol=rtol, atol=atol)
    if not sol.success:
        raise BiaslearnError(f"integration failed ({method}): {sol.message}")
    return sol.y.T.copy()


def lorenz(n: int, dt: float = 0.01, *, transient: int = 1000, y0=(1.0, 1.0, 1.0), cache_dir=None) -> Trajectory:
    """Lorenz-63 at σ=10, ρ=28, β=8/3 sampled every `dt`, after discarding `transient` samples."""
    key = {"system": "lorenz", "n": n, "dt": dt, "transient": transient, "y0": list(y0), "method": METHOD, "rtol": RTOL, "atol": ATOL}

    def make():
        return integrate(lorenz_rhs(), y0, dt, n + transient)[transient:]

    return Trajectory("lorenz", _cached(key, make, cache_dir), dt, LORENZ_LYAPUNOV)


def vanderpol(n: int, dt: float = 0.1, *, mu: float = 1.0, transient: int = 500, y0=(2.0, 0.0), cache_dir=None) -> Trajectory:
    """Van der Pol with parameter `mu`, on its limit cycle after `transient` samples."""
    key = {"system": "vanderpol", "n": n, "dt": dt, "mu": mu, "transient": transient, "y0": list(y0), "method": METHOD}

    def make():
        return integrate(vanderpol_rhs(mu), y0, dt, n + transient)[transient:]

    return Trajectory(f"vanderpol(mu={mu:g})", _cached(key, make, cache_dir), dt, 0.0)


# -------------------------------------------------------------------------------- catalogue
def _dysts():
    try:
        import dysts.flows  # noqa: F401
        import dysts.systems
    except ImportError:
        raise BiaslearnError(f"the dysts catalogue is not installed; run: pip install dysts=={DYSTS_VERSION}") from None
    return dysts


def catalogue_names(*, chaotic: bool = True, dim: int | None = 3) -> list[str]:
    """Names of catalogue flows (sorted); `chaotic` keeps those with a positive largest Lyapunov
    exponent in the metadata; `dim` keeps systems with that many coordinates (None: any)."""
    dysts = _dysts()
    import dysts.flows as flows

    out = []
    for name in dysts.systems.get_attractor_list():
        try:
            model = getattr(flows, name)()
        except Exception:
            continue
        lam = getattr(model, "maximum_lyapunov_estimated", None)
        if chaotic and not (lam is not None and lam > 0):
            continue
        if getattr(model, "nonautonomous", False) or getattr(model, "period", None) is None:
            continue
        if dim is not None and len(np.atleast_1d(model.ic)) != dim:
            continue
        out.append(name)
    return sorted(out)


def catalogue(name: str, n: int, *, pts_per_period: int = 100, cache_dir=None) -> Trajectory:
    """A trajectory of the dysts flow `name`, n samples, `pts_per_period` per dominant period."""
    _dysts()
    import dysts.flows as flows

    if not hasattr(flows, name):
        raise BiaslearnError(f"system: {name!r} is not in the dysts {DYSTS_VERSION} catalogue; see catalogue_names()")
    model = getattr(flows, name)()
    key = {"system": name, "n": n, "pts_per_period": pts_per_period, "dysts": DYSTS_VERSION,
           "method": CATALOGUE_METHOD, "tol": CATALOGUE_TOL}

    def make():
        import warnings

        with warnings.catch_warnings():  # dysts passes its Jacobian, which explicit DOP853 ignores
            warnings.filterwarnings("ignore", message=".*no effect for a chosen solver.*")
            t, x = model.make_trajectory(n, pts_per_period=pts_per_period, return_times=True,
                                         method=CATALOGUE_METHOD, rtol=CATALOGUE_TOL, atol=CATALOGUE_TOL)
        if x is None or not np.isfinite(x).all():
            raise BiaslearnError(f"system {name}: integration failed or diverged; choose another system")
        return np.concatenate([np.asarray(t, dtype=float).reshape(-1, 1), x], 1)

    data = _cached(key, make, cache_dir)
    dt = float(data[1, 0] - data[0, 0])
    return Trajectory(name, data[:, 1:].copy(), dt, float(model.maximum_lyapunov_estimated))


# ------------------------------------------------------------------------------------ cache
def cache_directory(explicit=None) -> Path:
    value = explicit or os.environ.get("BIASLEARN_CACHE_DIR")
    return Path(value) if value else Path.home() / ".cache" / "biaslearn" / "dynamics"


def _cached(key: dict, make, cache_dir) -> np.ndarray:
    text = json.dumps(key, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = cache_directory(cache_dir) / f"{key['system']}-{digest}.npz"
    if path.exists():
        try:
            with np.load(path) as f:
                if str(f["key"]) == text:
                    return f["values"]
        except Exception:
            pass  # a damaged cache file is recomputed and replaced
    values = make()

    def writer(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, values=values, key=np.array(text))

    atomic.write_with(path, writer)
    return values


__all__ = ["Trajectory", "lorenz", "vanderpol", "integrate", "lorenz_rhs", "vanderpol_rhs",
           "catalogue", "catalogue_names", "cache_directory", "LORENZ_LYAPUNOV"]
