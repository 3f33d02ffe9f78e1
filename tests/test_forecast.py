import numpy as np
import pytest

from biaslearn.analysis import forecast
from biaslearn.errors import BiaslearnError


def _signal():
    t = np.arange(500) * 0.05
    return np.stack([np.sin(t), np.cos(1.3 * t)], 1)


def test_vpt_of_perfect_forecast_is_the_horizon():
    y = _signal()
    assert forecast.valid_prediction_steps(y, y) == len(y)
    assert forecast.valid_prediction_time(y, y, dt=0.05, lyapunov=0.9) == pytest.approx(len(y) * 0.05 * 0.9)


def test_vpt_of_constant_forecast_is_near_zero():
    y = _signal()[100:]
    const = np.repeat(y.mean(0, keepdims=True), len(y), 0)
    assert forecast.valid_prediction_steps(const, y) < 0.05 * len(y)
    assert forecast.valid_prediction_time(const, y, dt=0.05, lyapunov=0.9) < 1.0


def test_smape_scale_and_rmse():
    y = _signal() + 3
    assert forecast.smape(y, y) == 0
    assert forecast.smape(-y, y) == pytest.approx(200)
    assert forecast.multi_step_rmse(y + 1, y).shape == (len(y),)
    np.testing.assert_allclose(forecast.multi_step_rmse(np.stack([y + 1, y - 1]), np.stack([y, y])), 1)
    with pytest.raises(BiaslearnError, match="equal shape"):
        forecast.smape(y[:3], y)


def test_hwhm_of_a_known_autocorrelation():
    # AR(1) with coefficient a has autocorrelation a^k: half at k = ln 0.5 / ln a
    rng = np.random.default_rng(0)
    a, n = 0.95, 200_000
    e = rng.standard_normal(n)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = a * x[i - 1] + e[i]
    assert forecast.half_width_half_maximum(x, 100) == pytest.approx(np.log(0.5) / np.log(a), rel=0.05)
