"""A forecaster in the conventions of reservoir computing: a frozen random rate RNN read on numpy
arrays of shape (time, dim).

    f = bl.Forecaster(units=1024, method="readout").fit(train, warmup=100)
    one_step = f.predict(test)                      # teacher-forced: out[t] predicts test[t + 1]
    future = f.forecast(500, warmup=test[:300])     # closed loop: reads test[:300], then itself
    vpt = valid_prediction_time(future, test[300:800], dt=0.01, lyapunov=0.9056)

Methods on the same frozen weights: "readout" (echo-state network: ridge regression of the
teacher-forced states, closed form), "bias" (biases trained by BPTT with Adam, frozen readout),
"full" (everything trained), "bias+ridge" (biases trained, then the readout fitted by ridge).
The series is standardised per coordinate with the training series' mean and std; predictions
come back in the original units. Closed-loop generation is one call: `forecast` runs the network
on the warmup teacher-forced and then feeds each output back as the next input."""

from __future__ import annotations

import numpy as np
import torch

from biaslearn.analysis.forecast import multi_step_rmse, smape, valid_prediction_steps, valid_prediction_time
from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import RecurrentNet, RecurrentSpec
from biaslearn.training.forecasting import forecast_loss, sampler
from biaslearn.training.ridge import fit_readout
from biaslearn.training.sequence import SequenceTrainConfig, train_sequence

FORECAST_METHODS = ("readout", "bias", "full", "bias+ridge")


def _series(name: str, series, dim: int | None = None) -> np.ndarray:
    a = np.asarray(series, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or len(a) < 2:
        raise BiaslearnError(f"{name}: expected an array of shape (time, dim) with time >= 2, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise BiaslearnError(f"{name}: contains {int((~np.isfinite(a)).sum())} NaN/inf value(s)")
    if dim is not None and a.shape[1] != dim:
        raise BiaslearnError(f"{name}: has {a.shape[1]} coordinates, the forecaster was fitted on {dim}")
    return a


class Forecaster:
    """See the module docstring. `gain`: spectral scale of the frozen recurrent weights
    (W ~ N(0, gain²/units)); `mode`: train the trained methods teacher-forced ("teacher") or
    through their own feedback for `horizon` steps ("closed")."""

    def __init__(self, units: int = 1024, method: str = "readout", *, gain: float = 1.0, input: str = "uniform:0.2",
                 readout: str = "gaussian:2", mode: str = "teacher", horizon: int = 25, iterations: int = 1000,
                 lr: float | None = None, batch_size: int = 16, ridge: float = 1e-6, seed: int = 0):
        if method not in FORECAST_METHODS:
            raise BiaslearnError(f"method: unknown {method!r}; valid: {', '.join(FORECAST_METHODS)}")
        if mode not in ("teacher", "closed"):
            raise BiaslearnError(f"mode: expected 'teacher' or 'closed', got {mode!r}")
        self.units, self.method, self.gain, self.input, self.readout = units, method, gain, input, readout
        self.mode, self.horizon, self.iterations, self.batch_size, self.ridge, self.seed = mode, horizon, iterations, batch_size, ridge, seed
        self.lr = lr if lr is not None else (1e-3 if method == "full" else 3e-2)
        self.net: RecurrentNet | None = None

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, series, warmup: int = 100) -> "Forecaster":
        """Train on `series` (time, dim); the first `warmup` steps of every window only drive the
        state (no loss on them for the ridge readout)."""
        raw = _series("series", series)
        if not 0 <= warmup < len(raw) - 2:
            raise BiaslearnError(f"warmup: expected 0 <= warmup < {len(raw) - 2} (the series has {len(raw)} steps), got {warmup}")
        self.mean, self.std = raw.mean(0), raw.std(0) + 1e-12
        z = torch.from_numpy(((raw - self.mean) / self.std).astype(np.float32))
        dim = z.shape[1]
        self.dim, self.warmup = dim, warmup
        self.net = RecurrentNet(RecurrentSpec(dim, self.units, dim, seed=self.seed, recurrent=f"gaussian:{self.gain}",
                                              input=self.input, readout=self.readout, initial_state="zeros"))
        if self.method in ("bias", "full", "bias+ridge"):
            length = warmup + self.horizon + 1
            draw = sampler(z, length, self.batch_size, self.seed, f"forecaster/{self.method}")

            def objective(model, step):
                return forecast_loss(model, draw(step), mode=self.mode, warmup=warmup, horizon=self.horizon,
                                     washout=min(warmup, 10))

            config = SequenceTrainConfig(steps=self.iterations, lr=self.lr, lr_decay=0.1, log_every=max(1, self.iterations // 20))
            self.history_ = train_sequence(self.net, objective, "full" if self.method == "full" else "bias", config)
        if self.method in ("readout", "bias+ridge"):
            with torch.no_grad():
                states = self.net.run(z[None, :-1])[0, warmup:]
            fit_readout(self.net, states, z[1 + warmup:], self.ridge)
        return self

    def _ready(self) -> RecurrentNet:
        if self.net is None:
            raise BiaslearnError("Forecaster: call fit(series) first")
        return self.net

    def _z(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((a - self.mean) / self.std).astype(np.float32))

    # ---- use -----------------------------------------------------------------------------------
    def predict(self, series) -> np.ndarray:
        """Teacher-forced one-step predictions: out[t] predicts series[t + 1] (shape (time, dim))."""
        net = self._ready()
        z = self._z(_series("series", series, self.dim))
        with torch.no_grad():
            out = net.readout(net.run(z[None]))[0].numpy().astype(np.float64)
        return out * self.std + self.mean

    def forecast(self, n_steps: int, warmup) -> np.ndarray:
        """Closed-loop forecast of `n_steps` steps after the end of `warmup` (time, dim): the
        network reads `warmup` teacher-forced, then its own outputs; out[0] predicts the step
        right after warmup[-1]."""
        net = self._ready()
        if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise BiaslearnError(f"n_steps: expected a positive int, got {n_steps!r}")
        z = self._z(_series("warmup", warmup, self.dim))
        with torch.no_grad():
            out = net.closed_loop(z[None], int(n_steps))[0].numpy().astype(np.float64)
        return out * self.std + self.mean


__all__ = ["Forecaster", "FORECAST_METHODS", "valid_prediction_time", "valid_prediction_steps", "multi_step_rmse", "smape"]
