"""Many chaotic systems in one frozen RNN: one random network (W, B, C fixed by `seed`), one learned
bias vector (b, c) per system of the dysts catalogue; closed-loop forecast error per system.

Data: each system's 3 coordinates, standardised with its training part, `pts_per_period` samples
per dominant period (dysts resampling), first (1 - test_fraction) for training. Training: the
closed-loop objective of biaslearn.training.forecasting (teacher-forced `warmup`, then `horizon`
free-running steps, BPTT) on the bias method. Baseline on the same frozen network: the ridge
readout (echo-state network, one C, c per system). Evaluation: closed-loop forecasts from
`eval_starts` test points: valid prediction time (threshold 0.4 std) in Lyapunov times from the
catalogue's largest exponent, sMAPE (standardised coordinates, 0-200 scale) and RMSE over
`eval_steps` steps. `units` may list several widths: how many systems fit in N units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn import rng
from biaslearn.analysis import forecast
from biaslearn.data.dynamics import catalogue
from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import RecurrentNet, RecurrentSpec
from biaslearn.results import RunFolder
from biaslearn.training.forecasting import closed_loop_forecasts, forecast_loss, sampler
from biaslearn.training.ridge import fit_readout
from biaslearn.training.sequence import SequenceTrainConfig, train_sequence

NAME = "many-systems"
DESCRIPTION = "one frozen RNN, one learned bias vector per chaotic system (dysts); closed-loop error per system"

SYSTEMS = ("Lorenz", "Rossler", "Chen", "Aizawa", "Halvorsen", "SprottB", "ChenLee", "Arneodo",
           "Dadras", "LuChen", "RikitakeDynamo", "Sakarya")


@dataclass(frozen=True)
class Config:
    systems: tuple[str, ...] = SYSTEMS
    units: tuple[int, ...] = (512,)
    methods: tuple[str, ...] = ("bias", "readout")
    samples: int = 6000
    pts_per_period: int = 100
    test_fraction: float = 0.2
    gain: float = 1.0
    input: str = "uniform:1"
    readout: str = "gaussian:2"  # as in the lorenz experiment
    iterations: int = 2000  # 400 leaves the bias arm under-trained (docs/results.md)
    lr: float = 0.03
    batch_size: int = 16
    warmup: int = 50
    horizon: int = 30
    washout: int = 10
    ridge: float = 1e-4
    eval_starts: int = 50
    eval_steps: int = 300
    seed: int = 0

    def __post_init__(self):
        if len(self.systems) < 1 or len(set(self.systems)) != len(self.systems):
            raise BiaslearnError(f"systems: expected distinct catalogue names, got {self.systems!r}")
        for m in self.methods:
            if m not in ("bias", "bias+readout", "full", "readout"):
                raise BiaslearnError(f"methods: unknown {m!r}; valid: bias, bias+readout, full, readout")
        for u in self.units:
            if not isinstance(u, int) or u < 1:
                raise BiaslearnError(f"units: expected positive ints, got {u!r}")
        for name in ("samples", "iterations", "batch_size", "warmup", "horizon", "eval_starts", "eval_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        SequenceTrainConfig(steps=self.iterations, lr=self.lr)

    def spec(self, units: int) -> RecurrentSpec:
        return RecurrentSpec(3, units, 3, seed=self.seed, recurrent=f"gaussian:{self.gain}", input=self.input,
                             readout=self.readout, initial_state="zeros")


QUICK = {"systems": ("Lorenz", "Rossler", "Aizawa"), "units": (128,), "samples": 3000, "iterations": 60,
         "eval_starts": 10, "eval_steps": 150}


def system_data(config: Config, name: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    tr = catalogue(name, config.samples, pts_per_period=config.pts_per_period)
    cut = int(len(tr.values) * (1 - config.test_fraction))
    mean, std = tr.values[:cut].mean(0), tr.values[:cut].std(0)
    z = ((tr.values - mean) / std).astype(np.float32)
    facts = {"dt": tr.dt, "lyapunov": tr.lyapunov, "lyapunov_time_steps": tr.lyapunov_time_steps}
    return torch.from_numpy(z[:cut]), torch.from_numpy(z[cut:]), facts


def train_one(folder: RunFolder, *, config: Config, system: str, units: int, method: str) -> dict:
    train, test, facts = system_data(config, system)
    net = RecurrentNet(config.spec(units))
    if method == "readout":
        with torch.no_grad():
            states = net.run(train[None, :-1])[0, 100:]
        fit_readout(net, states, train[101:], config.ridge)
        seconds = 0.0
    else:
        draw = sampler(train, config.warmup + config.horizon + 1, config.batch_size, config.seed, f"{system}/{method}")

        def objective(model, step):
            return forecast_loss(model, draw(step), mode="closed", warmup=config.warmup, horizon=config.horizon,
                                 washout=config.washout)

        train_config = SequenceTrainConfig(steps=config.iterations, lr=config.lr, lr_decay=0.1, log_every=10,
                                           checkpoint_every=max(1, config.iterations // 5))
        history = train_sequence(net, objective, method, train_config, checkpoint_dir=folder.path,
                                 task_key=f"{system}/{config.samples}/{config.pts_per_period}")
        folder.write_csv("history.csv", history)
        seconds = history[-1]["seconds"]
    gen = rng.numpy_generator(config.seed, "many-systems/forecast-starts")
    high = len(test) - config.warmup - config.eval_steps
    if high < 1:
        raise BiaslearnError(f"{system}: test part ({len(test)} steps) too short for warmup + eval_steps; raise samples")
    starts = np.sort(gen.choice(high, size=min(config.eval_starts, high), replace=False))
    fc, tr = closed_loop_forecasts(net, test, starts, warmup=config.warmup, horizon=config.eval_steps)
    vpt_steps = np.array([forecast.valid_prediction_steps(f, t, scale=np.ones(3)) for f, t in zip(fc, tr)])
    folder.save_arrays("result", {"forecast": fc[:3], "truth": tr[:3], "b": net.b.detach().numpy(),
                                  "c": net.c.detach().numpy(), "vpt_steps": vpt_steps})
    return {
        "system": system, "units": units, "method": method,
        "lyapunov": facts["lyapunov"], "dt": facts["dt"], "lyapunov_time_steps": facts["lyapunov_time_steps"],
        "vpt_lyapunov_median": float(np.median(vpt_steps) * facts["dt"] * facts["lyapunov"]),
        "vpt_steps_median": float(np.median(vpt_steps)),
        "smape": float(np.mean([forecast.smape(f, t) for f, t in zip(fc, tr)])),
        "rmse": float(np.sqrt(np.mean((fc - tr) ** 2))),
        "weights_checksum": net.weights_checksum()[:16] if method != "readout" else RecurrentNet(config.spec(units)).weights_checksum()[:16],
        "train_seconds": seconds,
    }


def run(config: Config, folder: RunFolder) -> dict:
    for system in config.systems:  # fail fast (and fill the cache) before any training
        system_data(config, system)
    jobs = [(f"{system}-n{units}-{method}", train_one, {"config": config, "system": system, "units": units, "method": method})
            for units in config.units for method in config.methods for system in config.systems]
    rows = folder.units(jobs, label="many-systems")
    folder.write_csv("results.csv", rows)
    from biaslearn.plots.many_systems import plot

    plot(folder.path)
    summary = {}
    for units in config.units:
        for method in config.methods:
            sel = [r for r in rows if r["units"] == units and r["method"] == method]
            summary[f"{method}/n{units}"] = {
                "median_vpt_lyapunov": float(np.median([r["vpt_lyapunov_median"] for r in sel])),
                "median_smape": float(np.median([r["smape"] for r in sel])),
                "systems_with_vpt_above_0.5_lyapunov": int(sum(r["vpt_lyapunov_median"] > 0.5 for r in sel)),
            }
    checksums = {r["weights_checksum"] for r in rows if r["units"] == config.units[0]}
    return {"by_method": summary, "one_frozen_network": len(checksums) == 1, "systems": list(config.systems)}
