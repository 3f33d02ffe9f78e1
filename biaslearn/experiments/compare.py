"""The default experiment: bias-only vs full vs readout-only training on bitwise the same frozen
random networks (one hidden ReLU layer, Fashion-MNIST) over a few hidden widths.

Weights U[-1/sqrt(784), 1/sqrt(784)], frozen readout U[-g/sqrt(N), g/sqrt(N)] with g = 16: the
readout scale decides whether bias learning works (see PAPER.md's probe), so it is a field."""

from __future__ import annotations

from dataclasses import dataclass

from biaslearn import data
from biaslearn.config import parse_pairs
from biaslearn.errors import BiaslearnError
from biaslearn.models import FeedForward, NetworkSpec
from biaslearn.results import RunFolder
from biaslearn.training import METHODS, TrainConfig, train

NAME = "compare"
DESCRIPTION = "bias-only vs full vs readout-only on Fashion-MNIST over hidden widths (default)"


@dataclass(frozen=True)
class Config:
    dataset: str = "fashion-mnist"
    widths: tuple[int, ...] = (256, 1024, 4096)
    methods: tuple[str, ...] = ("bias", "full", "readout")
    seeds: tuple[int, ...] = (0,)
    epochs: int = 5
    batch_size: int = 256
    # Adam learning rate per method, "method=lr"; chosen on a 2-epoch probe (docs/results.md)
    learning_rates: tuple[str, ...] = ("bias=0.01", "full=0.001", "readout=0.01", "bias+readout=0.001")
    weights: str = "uniform_fan_in:1"
    readout: str = "uniform_fan_in:16"

    def __post_init__(self):
        for w in self.widths:
            if not isinstance(w, int) or w < 1:
                raise BiaslearnError(f"widths: expected positive ints, got {w!r}")
        for m in self.methods:
            if m not in METHODS or m == "mask":
                raise BiaslearnError(f"methods: unknown {m!r}; valid: bias, full, readout, bias+readout")
        if not self.widths or not self.methods or not self.seeds:
            raise BiaslearnError("widths, methods and seeds must each list at least one value")
        rates = self.lr_by_method()
        for m in self.methods:
            if m not in rates:
                raise BiaslearnError(f"learning_rates: no rate for method {m!r}; got {', '.join(self.learning_rates)}")
            TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=rates[m])
        NetworkSpec(1, (1,), 1, weights=self.weights, readout=self.readout)


    def lr_by_method(self) -> dict[str, float]:
        return parse_pairs(self.learning_rates, "learning_rates")


QUICK = {"dataset": "fashion-mnist+train:10000", "widths": (64, 512), "epochs": 2}


def train_one(folder: RunFolder, *, config: Config, width: int, method: str, seed: int) -> dict:
    task = data.load_task(config.dataset)
    spec = NetworkSpec(task.in_features, (width,), task.out_features, seed=seed, weights=config.weights, readout=config.readout)
    model = FeedForward(spec)
    train_config = TrainConfig(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr_by_method()[method], seed=seed)
    history = train(model, task, method, train_config, checkpoint_dir=folder.path)
    folder.write_csv("history.csv", history)
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "width": width, "method": method, "seed": seed, "trained_parameters": trained,
        "test_accuracy": history[-1]["test_accuracy"], "test_loss": history[-1]["test_loss"],
        "lr": train_config.lr,
        "seconds_per_epoch": sum(h["seconds"] for h in history) / len(history),
    }


def run(config: Config, folder: RunFolder) -> dict:
    data.load_task(config.dataset)  # fail fast on missing data, before any unit starts
    jobs = [
        (f"w{width}-{method}-s{seed}", train_one, {"config": config, "width": width, "method": method, "seed": seed})
        for width in config.widths for method in config.methods for seed in config.seeds
    ]
    rows = folder.units(jobs, label="compare")
    folder.write_csv("results.csv", rows)
    from biaslearn.plots.compare import plot

    plot(folder.path)
    table = {}
    for row in rows:
        table.setdefault(row["method"], {}).setdefault(str(row["width"]), []).append(row["test_accuracy"])
    means = {m: {w: sum(v) / len(v) for w, v in by_width.items()} for m, by_width in table.items()}
    return {"test_accuracy": means, "units": len(rows)}


def format_summary(summary: dict) -> str:
    accuracy = summary["test_accuracy"]
    widths = sorted({int(w) for by_width in accuracy.values() for w in by_width})
    lines = ["test accuracy (%)", f"{'method':14s}" + "".join(f"{w:>10d}" for w in widths)]
    for method, by_width in accuracy.items():
        lines.append(f"{method:14s}" + "".join(f"{100 * by_width.get(str(w), float('nan')):10.2f}" for w in widths))
    return "\n".join(lines)
