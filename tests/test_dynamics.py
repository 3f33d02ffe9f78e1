import numpy as np
import pytest

from biaslearn.data import dynamics
from biaslearn.errors import BiaslearnError


def test_lorenz_integrator_agrees_with_a_second_solver(tmp_path):
    ours = dynamics.lorenz(300, 0.01, transient=0, cache_dir=tmp_path).values  # 3 time units
    other = dynamics.integrate(dynamics.lorenz_rhs(), (1.0, 1.0, 1.0), 0.01, 300, method="LSODA", rtol=1e-11, atol=1e-12)
    assert np.abs(ours - other).max() < 1e-5
    # and the dynamics are chaotic: a 1e-8 perturbation grows
    bumped = dynamics.integrate(dynamics.lorenz_rhs(), (1.0 + 1e-8, 1.0, 1.0), 0.01, 2500)
    base = dynamics.integrate(dynamics.lorenz_rhs(), (1.0, 1.0, 1.0), 0.01, 2500)
    assert np.abs(bumped - base)[-1].max() > 1e-3


def test_cache_is_reused(tmp_path):
    a = dynamics.vanderpol(200, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    b = dynamics.vanderpol(200, cache_dir=tmp_path)
    assert np.array_equal(a.values, b.values)
    z = a.standardized()
    assert np.allclose(z.mean(0), 0, atol=1e-5) and np.allclose(z.std(0), 1, atol=1e-4)
    assert a.lyapunov == 0 and a.lyapunov_time_steps == float("inf")


def test_vanderpol_is_on_its_limit_cycle(tmp_path):
    x = dynamics.vanderpol(1000, 0.1, cache_dir=tmp_path).values[:, 0]
    assert 1.9 < x.max() < 2.1 and -2.1 < x.min() < -1.9  # amplitude ~2 for mu=1


def test_catalogue_lorenz(tmp_path):
    pytest.importorskip("dysts")
    tr = dynamics.catalogue("Lorenz", 300, cache_dir=tmp_path)
    assert tr.values.shape == (300, 3) and 0.8 < tr.lyapunov < 1.0 and 0.01 < tr.dt < 0.02
    with pytest.raises(BiaslearnError, match="not in the dysts"):
        dynamics.catalogue("NoSuchSystem", 10, cache_dir=tmp_path)


def test_missing_dysts_message(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.startswith("dysts"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(BiaslearnError, match=r"pip install dysts==0\.96"):
        dynamics.catalogue("Lorenz", 10)
