"""The reservoir-style Forecaster on Lorenz: fit / predict (teacher-forced) / forecast (closed
loop) on numpy (time, dim) arrays, each method on the same frozen weights; bad input is refused."""

import numpy as np
import pytest

import biaslearn as bl
from biaslearn.data.dynamics import lorenz
from biaslearn.forecaster import valid_prediction_time


@pytest.fixture(scope="module")
def series():
    u = lorenz(8000, 0.01).values
    return u[:6000], u[6000:]


def test_echo_state_forecaster_forecasts_lorenz_for_lyapunov_times(series):
    train, test = series
    f = bl.Forecaster(units=512, method="readout").fit(train, warmup=100)
    one_step = f.predict(test)
    assert one_step.shape == test.shape
    assert np.sqrt(np.mean((one_step[100:-1] - test[101:]) ** 2)) < 0.05 * train.std()  # far below persistence
    vpt = [valid_prediction_time(f.forecast(500, warmup=test[s:s + 200]), test[s + 200:s + 700], dt=0.01, lyapunov=0.9056,
                                 scale=train.std(0)) for s in range(0, 1200, 300)]
    assert np.median(vpt) > 1.0, vpt


@pytest.mark.parametrize("method", ["bias", "full", "bias+ridge"])
def test_trained_methods_run_and_keep_the_frozen_weights(series, method):
    train, test = series
    f = bl.Forecaster(units=64, method=method, iterations=20).fit(train[:2000], warmup=50)
    untouched = bl.Forecaster(units=64, method="readout").fit(train[:2000], warmup=50)
    same = np.array_equal(f.net.W.detach().numpy(), untouched.net.W.detach().numpy())
    assert same == (method != "full")
    out = f.forecast(30, warmup=test[:100])
    assert out.shape == (30, 3) and np.isfinite(out).all()
    assert len(f.history_) >= 1


def test_bad_input_is_refused(series):
    train, _ = series
    with pytest.raises(bl.BiaslearnError, match="call fit"):
        bl.Forecaster().forecast(5, warmup=train[:10])
    with pytest.raises(bl.BiaslearnError, match="method: unknown 'esn'"):
        bl.Forecaster(method="esn")
    bad = train[:500].copy()
    bad[3, 1] = np.nan
    with pytest.raises(bl.BiaslearnError, match="NaN"):
        bl.Forecaster(units=32).fit(bad)
    f = bl.Forecaster(units=32).fit(train[:500], warmup=50)
    with pytest.raises(bl.BiaslearnError, match="has 2 coordinates, the forecaster was fitted on 3"):
        f.forecast(5, warmup=train[:10, :2])
    with pytest.raises(bl.BiaslearnError, match="warmup"):
        bl.Forecaster(units=32).fit(train[:50], warmup=60)
