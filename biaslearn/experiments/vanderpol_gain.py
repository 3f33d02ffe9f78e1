"""Van der Pol limit cycle generated autonomously, bias-only vs full training with EQUAL numbers of
learned parameters, over the gain g of the frozen recurrent weights W ~ N(0, g²/N) (Fig. 3).

Task: no input; from its learned initial state r_0 the network outputs the standardised (x, y) of
Van der Pol (μ = `mu`, sampled every `dt`) for `train_steps` steps; the held-out error is the free
run continued for `test_steps` more steps (the limit cycle must be sustained, in phase).

Equal parameter counts: the bias arm has N = (n² + 4n)/2 units and learns b, r_0 (N each) and c
(2): 2N + 2 = n² + 4n + 2 parameters; the full arm has n units (n even) and learns W (n²), b, r_0
(n each), C (2n), c (2): the same count. The paper claims bias learning fails for g < 1 and full
training does not care.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn.data.dynamics import vanderpol
from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import RecurrentNet, RecurrentSpec
from biaslearn.results import RunFolder
from biaslearn.training.methods import METHODS
from biaslearn.training.sequence import SequenceTrainConfig, train_sequence

NAME = "vanderpol-gain"
DESCRIPTION = "Van der Pol generation: bias-only vs full (equal learned-parameter counts) over the weight gain g"


@dataclass(frozen=True)
class Config:
    full_units: int = 18  # n; the bias arm gets (n² + 4n)/2 units (198 for n = 18)
    gains: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
    seeds: tuple[int, ...] = (0, 1)
    mu: float = 1.0
    dt: float = 0.1  # ~67 samples per cycle at mu = 1
    train_steps: int = 200
    test_steps: int = 400
    readout: str = "gaussian:1"
    iterations: int = 2000
    lr: float = 0.03  # both arms; a 600-iteration probe at g = 1.25 (docs/results.md)
    full_lr: float = 0.0  # if > 0, the full arm's learning rate instead of lr
    methods: tuple[str, ...] = ("bias", "full")
    lr_decay: float = 0.1

    def __post_init__(self):
        if not isinstance(self.full_units, int) or self.full_units < 2 or self.full_units % 2:
            raise BiaslearnError(f"full_units: expected an even int >= 2 (so the counts match exactly), got {self.full_units!r}")
        if not self.gains or any(not g > 0 for g in self.gains):
            raise BiaslearnError(f"gains: expected positive numbers, got {self.gains!r}")
        if not self.seeds:
            raise BiaslearnError("seeds: expected at least one seed")
        for name in ("train_steps", "test_steps", "iterations"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        SequenceTrainConfig(steps=self.iterations, lr=self.lr, lr_decay=self.lr_decay)
        if not self.methods or any(m not in ("bias", "full") for m in self.methods):
            raise BiaslearnError(f"methods: expected a non-empty subset of (bias, full), got {self.methods!r}")
        if not self.full_lr >= 0:
            raise BiaslearnError(f"full_lr: expected a number >= 0 (0: use lr), got {self.full_lr!r}")

    @property
    def bias_units(self) -> int:
        n = self.full_units
        return (n * n + 4 * n) // 2

    def spec(self, method: str, gain: float, seed: int) -> RecurrentSpec:
        units = self.bias_units if method == "bias" else self.full_units
        return RecurrentSpec(0, units, 2, seed=seed, recurrent=f"gaussian:{gain}", readout=self.readout)


QUICK = {"gains": (0.5, 1.5), "seeds": (0,), "iterations": 300, "test_steps": 200}


def target(config: Config) -> torch.Tensor:
    """(1, train_steps + test_steps, 2): standardised Van der Pol on its limit cycle."""
    tr = vanderpol(config.train_steps + config.test_steps + 1, config.dt, mu=config.mu)
    return torch.from_numpy(tr.standardized()[1:])[None]


def train_one(folder: RunFolder, *, config: Config, method: str, gain: float, seed: int) -> dict:
    net = RecurrentNet(config.spec(method, gain, seed))
    goal = target(config)
    T = config.train_steps

    def objective(model, step):
        states = model.run(steps=T, batch=1)
        return torch.mean((model.readout(states) - goal[:, :T]) ** 2), float(states.detach().abs().max())

    lr = config.full_lr if method == "full" and config.full_lr > 0 else config.lr
    train_config = SequenceTrainConfig(steps=config.iterations, lr=lr, lr_decay=config.lr_decay,
                                       log_every=10, checkpoint_every=max(1, config.iterations // 10))
    history = train_sequence(net, objective, method, train_config, checkpoint_dir=folder.path,
                             task_key=f"vanderpol/{config.mu}/{config.dt}/{T}")
    folder.write_csv("history.csv", history)
    with torch.no_grad():
        out = net(steps=goal.shape[1], batch=1)
    err = ((out - goal) ** 2).mean(-1)[0].numpy()
    folder.save_arrays("output", {"output": out[0].numpy(), "target": goal[0].numpy()})
    amplitude = float(out[0, T:].std(0).mean())  # 0 if the free run decays to a fixed point
    return {
        "method": method, "gain": gain, "seed": seed, "units": net.spec.units,
        "trained_parameters": sum(p.numel() for p in METHODS[method].trainable(net)),
        "train_mse": float(err[:T].mean()), "test_mse": float(err[T:].mean()),
        "test_output_std": amplitude, "seconds": history[-1]["seconds"],
    }


def run(config: Config, folder: RunFolder) -> dict:
    jobs = [
        (f"g{gain:g}-{method}-s{seed}", train_one, {"config": config, "method": method, "gain": gain, "seed": seed})
        for gain in config.gains for method in config.methods for seed in config.seeds
    ]
    rows = folder.units(jobs, label="vanderpol-gain")
    folder.write_csv("results.csv", rows)
    from biaslearn.plots.vanderpol_gain import plot

    plot(folder.path)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for method in config.methods:
        for gain in config.gains:
            sel = [r for r in rows if r["method"] == method and r["gain"] == gain]
            table.setdefault(method, {})[f"{gain:g}"] = {
                "train_mse": float(np.mean([r["train_mse"] for r in sel])),
                "test_mse": float(np.mean([r["test_mse"] for r in sel])),
            }
    counts = {m: next(r["trained_parameters"] for r in rows if r["method"] == m) for m in config.methods}
    return {"mse_by_method_and_gain": table, "trained_parameters": counts,
            "units": {"bias": config.bias_units, "full": config.full_units}}
