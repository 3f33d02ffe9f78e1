"""Lorenz forecasting with a 1,024-unit RNN (Fig. 4 of Williams et al.): 1-D projection (the x
coordinate, standardised with the training part's mean and std), one-step-ahead prediction.

Horizon τ = half-width at half-maximum of x's autocorrelation, computed from the training series
(≈ 25 steps at dt = 0.01; the paper reports 27 at its sampling). Training modes (see
biaslearn.training.forecasting): "teacher" (fed the true signal) and "closed" (teacher-forced for
`warmup` steps, then fed its own output for τ steps, BPTT through the feedback). Methods: bias,
full (BPTT with Adam) and readout = echo-state baseline (ridge regression of the teacher-forced
states, closed form). All on bitwise the same frozen W, B, C.

Evaluation on the held-out last part of the series: teacher-forced one-step NRMSE, and closed-loop
forecasts from `eval_starts` test points (teacher-forced warmup, then free-running):
RMSE over the first τ steps, sMAPE (standardised coordinates, 0-200 scale) over τ steps, and the
valid prediction time (first step with |error| > 0.4 std) in Lyapunov times (λ = 0.9056).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn import rng
from biaslearn.analysis import forecast
from biaslearn.data.dynamics import lorenz
from biaslearn.config import parse_pairs
from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import RecurrentNet, RecurrentSpec
from biaslearn.results import RunFolder
from biaslearn.training.forecasting import (closed_loop_forecasts, forecast_loss, sampler,
                                             teacher_forced_predictions)
from biaslearn.training.methods import METHODS
from biaslearn.training.ridge import fit_readout
from biaslearn.training.sequence import SequenceTrainConfig, train_sequence

NAME = "lorenz"
DESCRIPTION = "Lorenz 1-D forecasting, 1024 units: bias vs full vs readout (reservoir), teacher-forced vs closed-loop"


@dataclass(frozen=True)
class Config:
    units: int = 1024
    samples: int = 25000  # series length after the transient (dt = 0.01)
    test_fraction: float = 0.2
    dt: float = 0.01
    coordinate: int = 0  # x
    gain: float = 1.0  # W ~ N(0, g²/N)
    input: str = "uniform:1"
    readout: str = "gaussian:2"  # frozen C ~ N(0, 4/N): chosen on a 256-unit probe (docs/results.md)
    runs: tuple[str, ...] = ("bias/teacher", "bias/closed", "full/teacher", "full/closed", "readout/teacher")
    learning_rates: tuple[str, ...] = ("bias=0.03", "full=0.001")
    iterations: int = 1000
    batch_size: int = 16
    warmup: int = 50
    washout: int = 10
    ridge: float = 1e-4
    eval_starts: int = 100
    eval_horizon_taus: int = 8  # closed-loop forecasts run this many τ
    seed: int = 0

    def __post_init__(self):
        for name in ("units", "samples", "iterations", "batch_size", "warmup", "eval_starts", "eval_horizon_taus"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        if not 0 < self.test_fraction < 1:
            raise BiaslearnError(f"test_fraction: expected a number in (0, 1), got {self.test_fraction!r}")
        if self.coordinate not in (0, 1, 2):
            raise BiaslearnError(f"coordinate: expected 0, 1 or 2 (x, y, z), got {self.coordinate!r}")
        rates = self.lr_by_method()
        for run in self.runs:
            method, _, mode = run.partition("/")
            if method not in ("bias", "full", "bias+readout", "readout") or mode not in ("teacher", "closed"):
                raise BiaslearnError(f"runs: expected method/mode with method in bias, full, bias+readout, readout "
                                     f"and mode teacher or closed, got {run!r}")
            if method == "readout" and mode != "teacher":
                raise BiaslearnError("runs: the readout (ridge) baseline is fitted teacher-forced only: use 'readout/teacher'")
            if method != "readout" and method not in rates:
                raise BiaslearnError(f"learning_rates: no rate for {method!r}; got {', '.join(self.learning_rates)}")
        self.spec()

    def lr_by_method(self) -> dict[str, float]:
        return parse_pairs(self.learning_rates, "learning_rates")

    def spec(self) -> RecurrentSpec:
        return RecurrentSpec(1, self.units, 1, seed=self.seed, recurrent=f"gaussian:{self.gain}",
                             input=self.input, readout=self.readout, initial_state="zeros")


QUICK = {"units": 256, "samples": 6000, "iterations": 60, "eval_starts": 20,
         "runs": ("bias/teacher", "bias/closed", "readout/teacher")}


def series(config: Config) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Standardised (train, test) series (time, 1) and facts about them (τ, Lyapunov time)."""
    tr = lorenz(config.samples, config.dt)
    x = tr.values[:, config.coordinate]
    cut = int(len(x) * (1 - config.test_fraction))
    mean, std = x[:cut].mean(), x[:cut].std()
    z = ((x - mean) / std).astype(np.float32)[:, None]
    tau = forecast.half_width_half_maximum(x[:cut], 2000)
    facts = {"tau_hwhm": float(tau), "tau": int(round(tau)), "dt": tr.dt, "lyapunov": tr.lyapunov,
             "lyapunov_time_steps": tr.lyapunov_time_steps, "mean": float(mean), "std": float(std),
             "train_samples": cut, "test_samples": len(x) - cut,
             # persistence baseline (predict x_{t+1} = x_t) on the test part, std units
             "persistence_one_step_nrmse": float(np.sqrt(np.mean((z[cut + 1:] - z[cut:-1]) ** 2))),
             "persistence_rmse_at_tau": float(np.sqrt(np.mean((z[cut + int(round(tau)):] - z[cut:-int(round(tau))]) ** 2)))}
    return torch.from_numpy(z[:cut]), torch.from_numpy(z[cut:]), facts


def train_one(folder: RunFolder, *, config: Config, run: str) -> dict:
    method, _, mode = run.partition("/")
    train, test, facts = series(config)
    tau = facts["tau"]
    net = RecurrentNet(config.spec())
    if method == "readout":
        with torch.no_grad():
            states = net.run(train[None, :-1])[0, 100:]
        fit_readout(net, states, train[101:], config.ridge)
        history = [{"step": 0, "loss": float(((net.readout(states) - train[101:]) ** 2).mean().detach()), "seconds": 0.0}]
    else:
        length = config.warmup + tau + 1
        draw = sampler(train, length, config.batch_size, config.seed, f"lorenz/{run}")

        def objective(model, step):
            return forecast_loss(model, draw(step), mode=mode, warmup=config.warmup, horizon=tau, washout=config.washout)

        train_config = SequenceTrainConfig(steps=config.iterations, lr=config.lr_by_method()[method], lr_decay=0.1,
                                           log_every=10, checkpoint_every=max(1, config.iterations // 10))
        history = train_sequence(net, objective, method, train_config, checkpoint_dir=folder.path,
                                 task_key=f"lorenz/{config.samples}/{config.dt}/{run}")
    folder.write_csv("history.csv", history)
    trained = net.C.numel() + net.c.numel() if method == "readout" else sum(p.numel() for p in METHODS[method].trainable(net))
    return evaluate(folder, net, test, facts, config) | {"trained_parameters": trained, "run": run, "method": method, "mode": mode,
                                                        "train_seconds": history[-1]["seconds"],
                                                        "final_train_loss": history[-1]["loss"]}


def evaluate(folder: RunFolder, net: RecurrentNet, test: torch.Tensor, facts: dict, config: Config) -> dict:
    tau = facts["tau"]
    horizon = tau * config.eval_horizon_taus
    pred, truth = teacher_forced_predictions(net, test, washout=100)
    one_step_nrmse = float(np.sqrt(np.mean((pred - truth) ** 2)))
    gen = rng.numpy_generator(config.seed, "lorenz/forecast-starts")
    high = len(test) - config.warmup - horizon
    starts = np.sort(gen.choice(high, size=min(config.eval_starts, high), replace=False))
    fc, tr = closed_loop_forecasts(net, test, starts, warmup=config.warmup, horizon=horizon)
    scale = np.ones(1)  # standardised coordinate: the attractor's std is 1 by construction
    lyap_steps = 1.0 / (facts["lyapunov"] * facts["dt"])
    vpt = np.array([forecast.valid_prediction_steps(f, t, scale=scale) for f, t in zip(fc, tr)]) / lyap_steps
    rmse_curve = forecast.multi_step_rmse(fc, tr)
    folder.save_arrays("forecasts", {"starts": starts, "forecast": fc[:8], "truth": tr[:8], "rmse_curve": rmse_curve,
                                     "vpt_lyapunov": vpt, "teacher_pred": pred[:1000], "teacher_truth": truth[:1000]})
    return {
        "teacher_one_step_nrmse": one_step_nrmse,
        "closed_rmse_tau": float(np.sqrt(np.mean((fc[:, :tau] - tr[:, :tau]) ** 2))),
        "closed_smape_tau": float(np.mean([forecast.smape(f[:tau], t[:tau]) for f, t in zip(fc, tr)])),
        "vpt_lyapunov_median": float(np.median(vpt)),
        "vpt_lyapunov_mean": float(np.mean(vpt)),
    }


def run(config: Config, folder: RunFolder) -> dict:
    _, _, facts = series(config)
    folder.write_json("series.json", facts)
    jobs = [(run.replace("/", "-"), train_one, {"config": config, "run": run}) for run in config.runs]
    rows = folder.units(jobs, label="lorenz")
    folder.write_csv("results.csv", rows)
    from biaslearn.plots.lorenz import plot

    plot(folder.path)
    return {"series": facts, "by_run": {r["run"]: {k: v for k, v in r.items() if k not in ("run",)} for r in rows}}
