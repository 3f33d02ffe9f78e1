"""Autonomous generation (Fig. 3 of Williams et al.): a 200-unit RNN with no input, frozen W, B, C,
learns only its biases b, readout bias c and initial state r_0 to output cos(2π t / period).

Loss: mean squared error over t = 1..train_steps. We also run the network on for `test_steps`
beyond the training window (does it keep oscillating?). At the start, middle and end of training we
find the fixed point of the autonomous map r -> φ(W r + b) and the eigenvalues of its Jacobian
diag(φ'(W r* + b)) W: the paper's claim is that bias learning moves them to the unit circle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn.analysis.fixed_points import fixed_point_spectrum, recurrent_eigenvalues
from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import RecurrentSpec, RecurrentNet
from biaslearn.results import RunFolder
from biaslearn.training.methods import METHODS
from biaslearn.training.sequence import SequenceTrainConfig, train_sequence

NAME = "cosine"
DESCRIPTION = "autonomous RNN (200 units, no input) generating a period-25 cosine; Jacobian spectra"


@dataclass(frozen=True)
class Config:
    units: int = 200
    period: float = 25.0
    train_steps: int = 200  # length of the training window (time steps)
    test_steps: int = 1000  # free run beyond the window, for the held-out error
    gain: float = 1.2  # W ~ N(0, gain²/units)
    readout: str = "gaussian:1"  # frozen C
    activation: str = "tanh"
    methods: tuple[str, ...] = ("bias", "full")
    iterations: int = 2000
    lr: float = 0.01
    lr_decay: float = 0.1  # lr falls geometrically to lr·lr_decay over training
    seed: int = 0

    def __post_init__(self):
        for name in ("units", "train_steps", "test_steps", "iterations"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        if not self.period > 2:
            raise BiaslearnError(f"period: expected a number > 2 (steps), got {self.period!r}")
        if not self.gain > 0:
            raise BiaslearnError(f"gain: expected a positive number, got {self.gain!r}")
        for m in self.methods:
            if m not in METHODS or m == "mask":
                raise BiaslearnError(f"methods: unknown {m!r}; valid: bias, full, bias+readout")
        SequenceTrainConfig(steps=self.iterations, lr=self.lr, lr_decay=self.lr_decay)
        self.spec()

    def spec(self) -> RecurrentSpec:
        return RecurrentSpec(0, self.units, 1, seed=self.seed, activation=self.activation,
                             recurrent=f"gaussian:{self.gain}", readout=self.readout, initial_state="learned")


QUICK = {"iterations": 300, "test_steps": 200, "methods": ("bias",)}


def target(steps: int, period: float) -> torch.Tensor:
    """cos(2π t / period) for t = 1..steps, shape (1, steps, 1)."""
    t = torch.arange(1, steps + 1, dtype=torch.float32)
    return torch.cos(2 * torch.pi * t / period)[None, :, None]


def _snapshot(net: RecurrentNet, steps: int) -> dict:
    with torch.no_grad():
        states = net.run(steps=steps, batch=1)[0]
    spec = fixed_point_spectrum(net, states[steps // 2:])
    return {"eigenvalues": spec["eigenvalues"], "radius": spec["radius"], "residual": spec["residual"]}


def train_one(folder: RunFolder, *, config: Config, method: str) -> dict:
    net = RecurrentNet(config.spec())
    total = config.train_steps + config.test_steps
    goal = target(total, config.period)
    middle = config.iterations // 2

    def objective(model, step):
        states = model.run(steps=config.train_steps, batch=1)
        loss = torch.mean((model.readout(states) - goal[:, : config.train_steps]) ** 2)
        return loss, float(states.detach().abs().max())

    start = _snapshot(net, total)
    folder.save_arrays("start", {"eigenvalues": start["eigenvalues"]})

    def on_log(record):
        if record["step"] == middle - 1:
            snap = _snapshot(net, total)
            folder.save_arrays("middle", {"eigenvalues": snap["eigenvalues"], "residual": np.array(snap["residual"])})

    train_config = SequenceTrainConfig(steps=config.iterations, lr=config.lr, lr_decay=config.lr_decay,
                                       log_every=_divisor_log_every(middle), checkpoint_every=max(1, config.iterations // 10))
    history = train_sequence(net, objective, method, train_config, task_key=f"cosine/{config.period}/{config.train_steps}",
                             checkpoint_dir=folder.path, on_log=on_log)
    folder.write_csv("history.csv", history)
    end = _snapshot(net, total)
    with torch.no_grad():
        output = net(steps=total, batch=1)
    err = (output - goal)[0, :, 0].numpy()
    folder.save_arrays("end", {"eigenvalues": end["eigenvalues"], "output": output[0, :, 0].numpy(),
                               "target": goal[0, :, 0].numpy(), "W_eigenvalues": recurrent_eigenvalues(net)})
    middle_file = folder.load_arrays("middle") if folder.file("middle.npz").exists() else {"eigenvalues": start["eigenvalues"]}
    return {
        "method": method,
        "trained_parameters": sum(p.numel() for p in METHODS[method].trainable(net)),
        "train_mse": float(np.mean(err[: config.train_steps] ** 2)),
        "test_mse": float(np.mean(err[config.train_steps:] ** 2)),
        "radius_start": start["radius"],
        "radius_middle": float(np.abs(middle_file["eigenvalues"]).max()),
        "radius_end": end["radius"],
        "fixed_point_residual_end": end["residual"],
        "top_eigenvalue_end": _top(end["eigenvalues"]),
        "seconds": history[-1]["seconds"] if history else 0.0,
    }


def _divisor_log_every(middle: int) -> int:
    """A logging interval that hits step middle-1 (so the middle snapshot is taken)."""
    for every in (50, 25, 20, 10, 5, 2, 1):
        if middle >= every and (middle - 1) % every == 0:
            return every
    return 1


def _top(eigenvalues: np.ndarray) -> list[float]:
    top = eigenvalues[np.argmax(np.abs(eigenvalues))]
    return [float(top.real), float(top.imag)]


def run(config: Config, folder: RunFolder) -> dict:
    jobs = [(method, train_one, {"config": config, "method": method}) for method in config.methods]
    rows = folder.units(jobs, label="cosine")
    folder.write_csv("results.csv", [{k: v for k, v in r.items() if k != "top_eigenvalue_end"} for r in rows])
    from biaslearn.plots.cosine import plot

    plot(folder.path)
    expected_angle = 2 * np.pi / config.period
    return {
        "by_method": {r["method"]: r for r in rows},
        "target_eigen_angle": expected_angle,
    }
