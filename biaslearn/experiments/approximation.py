"""Universal approximation by biases alone (Theorem 1, Williams et al., ICLR 2025), measured.

Continuous targets on U = [-1, 1]^d (d = 1, 2; smooth, kinked, a small random ReLU net; see
`biaslearn.theory.targets`) are fitted by one-hidden-layer ReLU nets y = C relu(W x + b) + c with
W, C ~ U[-R, R] (the theorem's setting: R does not shrink with width). Every method (bias, full,
readout, bias+readout) starts from bitwise the same network for a given (d, width, seed); the
initial biases are U[-R, R] (bias_init="uniform": with zero biases every ReLU kink of a 1-D net
sits at x = 0 and readout-only training could not fit anything else). Training: full-batch Adam
on `train_points` uniform samples; errors (sup, L1, L2) on a dense grid. Per (d, target, method),
a power law error ~ width^exponent is fitted to the seed-mean errors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from biaslearn import rng
from biaslearn.data.task import from_tensors
from biaslearn.config import parse_pairs
from biaslearn.errors import BiaslearnError
from biaslearn.models.feedforward import FeedForward, NetworkSpec
from biaslearn.theory.scaling import fit_power_law
from biaslearn.theory.targets import TARGETS, function_errors, grid, make_target, uniform_samples
from biaslearn.training import METHODS, TrainConfig, train

NAME = "approximation"
DESCRIPTION = "sup/L1/L2 error vs width of bias-only, full, readout and bias+readout fits to continuous targets"


@dataclass(frozen=True)
class Config:
    dims: tuple[int, ...] = (1, 2)
    targets: tuple[str, ...] = ("smooth", "kinked", "random_net")
    methods: tuple[str, ...] = ("bias", "full", "readout", "bias+readout")
    widths: tuple[int, ...] = (16, 64, 256, 1024)
    seeds: int = 3
    R: float = 1.0  # hidden and readout weights ~ U[-R, R]
    # Adam learning rate per method, "method=lr" (chosen on a 1-D probe, see docs/results.md)
    learning_rates: tuple[str, ...] = ("bias=0.03", "full=0.01", "readout=0.03", "bias+readout=0.01")
    epochs: int = 1000  # full-batch Adam steps
    train_points: int = 1024
    grid_1d: int = 2001  # dense evaluation grid points (per axis in 2-D: grid_2d)
    grid_2d: int = 101
    target_units: int = 8  # random_net target: N1 with this many units, params ~ U[-gamma, gamma]
    target_gamma: float = 1.0
    data_seed: int = 0

    def __post_init__(self):
        for name, valid in (("targets", TARGETS), ("methods", tuple(METHODS))):
            for v in getattr(self, name):
                if v not in valid:
                    raise BiaslearnError(f"{name}: unknown {v!r}; valid: {', '.join(valid)}")
        for d in self.dims:
            if d not in (1, 2):
                raise BiaslearnError(f"dims: expected values in (1, 2), got {d!r}")
        if not self.widths or any(not isinstance(w, int) or w < 1 for w in self.widths):
            raise BiaslearnError(f"widths: expected positive ints, got {self.widths!r}")
        for name in ("seeds", "epochs", "train_points", "grid_1d", "grid_2d", "target_units"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < (2 if name.startswith("grid") else 1):
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        rates = self.lr_by_method()
        for m in self.methods:
            if m not in rates or not rates[m] > 0:
                raise BiaslearnError(f"learning_rates: no positive rate for method {m!r}; got {', '.join(self.learning_rates)}")
        for name in ("R", "target_gamma"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise BiaslearnError(f"{name}: expected a positive number, got {v!r}")


    def lr_by_method(self) -> dict[str, float]:
        return parse_pairs(self.learning_rates, "learning_rates")


QUICK = {"dims": (1,), "targets": ("smooth",), "methods": ("bias", "bias+readout"), "widths": (16, 256), "seeds": 1,
         "epochs": 300, "train_points": 512, "grid_1d": 501}


def random_network(dim: int, width: int, R: float, seed: int) -> FeedForward:
    """N2 of the theorem: W, C, and the initial biases ~ U[-R, R], from the seeded streams."""
    return FeedForward(NetworkSpec(dim, (width,), 1, seed=seed, weights=f"uniform:{R!r}", readout=f"uniform:{R!r}",
                                   bias_init="uniform"))


def fit(net: FeedForward, f, dim: int, method: str, *, lr: float, epochs: int, train_points: int, data_seed: int,
        checkpoint_dir=None) -> list[dict]:
    """Train `net` on `train_points` uniform samples of f on [-1, 1]^dim (full batch, mse)."""
    x = uniform_samples(dim, train_points, generator=rng.generator(data_seed, f"approximation/x/{dim}"))
    probe = grid(dim, 16 if dim == 1 else 5)  # small monitoring split; the real evaluation is the dense grid
    task = from_tensors(f"target-{dim}d", x, f(x), probe, f(probe))
    config = TrainConfig(epochs=epochs, batch_size=train_points, lr=lr, loss="mse", engine="plain")
    return train(net, task, method, config, checkpoint_dir=checkpoint_dir)


def _unit(sub, *, config: dict, dim: int, target: str, width: int, seed: int, method: str) -> dict:
    c = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
    f = make_target(target, dim, seed=c.data_seed, units=c.target_units, gamma=c.target_gamma)
    net = random_network(dim, width, c.R, seed)
    initial_weights = net.weights_checksum()
    start = time.perf_counter()
    history = fit(net, f, dim, method, lr=c.lr_by_method()[method], epochs=c.epochs, train_points=c.train_points, data_seed=c.data_seed)
    seconds = time.perf_counter() - start
    xg = grid(dim, c.grid_1d if dim == 1 else c.grid_2d)
    with torch.no_grad():
        pred = net(xg)
    sub.save_arrays("prediction", {"y": pred.numpy().astype(np.float32)})
    errors = function_errors(pred, f(xg))
    trained = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return {"dim": dim, "target": target, "width": width, "seed": seed, "method": method, **errors,
            "train_loss": history[-1]["train_loss"], "trained_params": trained, "seconds": seconds,
            "initial_weights_sha256": initial_weights}


def unit_name(dim, target, width, seed, method) -> str:
    return f"d{dim}-{target}-w{width}-s{seed}-{method.replace('+', '_')}"


def run(config: Config, folder) -> dict:
    from dataclasses import asdict

    cdict = asdict(config)
    jobs = [
        (unit_name(d, t, w, s, m), _unit, {"config": cdict, "dim": d, "target": t, "width": w, "seed": s, "method": m})
        for d in config.dims for t in config.targets for w in config.widths for s in range(config.seeds)
        for m in config.methods
    ]
    rows = folder.units(jobs, label="approximation")
    folder.write_csv("errors.csv", rows)
    # grids, targets and the seed-0 predictions, for the figures
    for d in config.dims:
        xg = grid(d, config.grid_1d if d == 1 else config.grid_2d)
        arrays = {"x": xg.numpy()}
        for t in config.targets:
            f = make_target(t, d, seed=config.data_seed, units=config.target_units, gamma=config.target_gamma)
            arrays[f"target/{t}"] = f(xg).numpy()
            for w in config.widths:
                for m in config.methods:
                    sub = folder.sub(unit_name(d, t, w, 0, m))
                    arrays[f"fit/{t}/{m}/{w}"] = sub.load_arrays("prediction")["y"]
        folder.save_arrays(f"fits_{d}d", arrays)
    scaling = []
    for d in config.dims:
        for t in config.targets:
            for m in config.methods:
                sel = [r for r in rows if r["dim"] == d and r["target"] == t and r["method"] == m]
                entry = {"dim": d, "target": t, "method": m}
                for norm in ("sup", "l1", "l2"):
                    means = [float(np.mean([r[norm] for r in sel if r["width"] == w])) for w in config.widths]
                    entry[f"{norm}_by_width"] = means
                    entry[f"{norm}_exponent"] = fit_power_law(config.widths, means)["exponent"]
                scaling.append(entry)
    folder.write_json("scaling.json", {"widths": list(config.widths), "fits": scaling})
    from biaslearn.plots.approximation import plot

    figures = plot(folder.path)
    return {
        "runs": len(rows),
        "seconds_training": float(sum(r["seconds"] for r in rows)),
        "scaling": [{k: v for k, v in e.items() if not k.endswith("_by_width")} | {
            "sup_at_max_width": e["sup_by_width"][-1], "l2_at_max_width": e["l2_by_width"][-1]} for e in scaling],
        "figures": [p.name for p in figures],
    }
