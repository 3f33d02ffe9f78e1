"""Width sweep (Fig. 1A, App. E2 of Williams et al. 2025): test accuracy of one-hidden-layer ReLU
nets on Fashion-MNIST vs hidden width and vs trained parameters, methods bias / full / readout /
bias+readout, frozen weights U[-0.1, 0.1] or N(0, 1/fan_in).

Stage 1 (tuning) picks, per weight distribution and method, the Adam learning rate (and for the
methods in `gain_methods` the gain g of the frozen readout C ~ U[-g/sqrt(N), g/sqrt(N)]) by
accuracy on a validation split carved from the training set, at width `tune_width`.
Stage 2 trains every (weights, width, method, seed) on the full training set and tests."""

from __future__ import annotations

from dataclasses import dataclass

from biaslearn import data
from biaslearn.errors import BiaslearnError
from biaslearn.config import parse_pairs
from biaslearn.experiments.ffnet import mean_sem, train_unit
from biaslearn.models import WeightDistribution
from biaslearn.results import RunFolder
from biaslearn.training import METHODS

NAME = "width-sweep"
DESCRIPTION = "Fig. 1A: accuracy vs hidden width / trained parameters, bias vs full vs readout (Fashion-MNIST)"


@dataclass(frozen=True)
class Config:
    dataset: str = "fashion-mnist"
    widths: tuple[int, ...] = (32, 100, 320, 1000, 3200, 10000, 32000)
    methods: tuple[str, ...] = ("bias", "full", "readout", "bias+readout")
    weights: tuple[str, ...] = ("uniform:0.1", "gaussian:1")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: int = 20
    batch_size: int = 256
    lrs: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    gains: tuple[float, ...] = (1.0, 4.0, 16.0, 64.0)  # frozen-readout gains tried in tuning
    gain_methods: tuple[str, ...] = ("bias",)  # methods whose readout gain is tuned (others: g = 1)
    tune_width: int = 1000
    tune_epochs: int = 5
    validation: float = 0.1
    max_width: tuple[str, ...] = ()  # compute caps, e.g. ("full=3200",): skip wider runs of a method

    def __post_init__(self):
        if not self.widths or not self.methods or not self.seeds or not self.weights or not self.lrs or not self.gains:
            raise BiaslearnError("widths, methods, seeds, weights, lrs and gains must each list at least one value")
        for w in (*self.widths, self.tune_width, self.epochs, self.tune_epochs, self.batch_size):
            if not isinstance(w, int) or w < 1:
                raise BiaslearnError(f"widths/epochs/batch_size: expected positive ints, got {w!r}")
        for m in (*self.methods, *self.gain_methods):
            if m not in METHODS or m == "mask":
                raise BiaslearnError(f"methods: unknown {m!r}; valid: bias, full, readout, bias+readout")
        for w in self.weights:
            WeightDistribution.parse(w)
        for v in (*self.lrs, *self.gains):
            if not v > 0:
                raise BiaslearnError(f"lrs/gains: expected positive numbers, got {v!r}")
        if not 0 < self.validation < 1:
            raise BiaslearnError(f"validation: expected a fraction in (0, 1), got {self.validation}")
        parse_pairs(self.max_width, "max_width", int)


QUICK = {
    "dataset": "fashion-mnist+train:6000", "widths": (32, 256, 2048), "seeds": (0, 1), "epochs": 3,
    "lrs": (1e-3, 1e-2, 1e-1), "gains": (1.0, 16.0), "tune_width": 256, "tune_epochs": 2,
}


CACHE_ORDER = ("bias", "bias+readout", "readout", "full")  # methods sharing the engine's projection cache first


def _tag(weights: str) -> str:
    return weights.replace(":", "").replace("_", "")


def _tune(config: Config, folder: RunFolder) -> tuple[list[dict], dict]:
    jobs = []
    for w in config.weights:
        for m in config.methods:
            for g in (config.gains if m in config.gain_methods else (1.0,)):
                for lr in config.lrs:
                    kwargs = dict(task=config.dataset, width=config.tune_width, method=m, seed=0, weights=w, gain=g,
                                  lr=lr, epochs=config.tune_epochs, batch_size=config.batch_size, validation=config.validation)
                    jobs.append((f"tune-{_tag(w)}-{m}-g{g:g}-lr{lr:g}", train_unit, kwargs))
    rows = folder.units(jobs, label="width-sweep tuning")
    for (_, _, kw), row in zip(jobs, rows):
        row["weights"] = kw["weights"]
    chosen = {}
    for w in config.weights:
        for m in config.methods:
            best = max((r for r in rows if r["weights"] == w and r["method"] == m), key=lambda r: r["accuracy"])
            chosen[f"{w}|{m}"] = {"lr": best["lr"], "gain": best["gain"], "validation_accuracy": best["accuracy"]}
    return rows, chosen


def run(config: Config, folder: RunFolder) -> dict:
    data.load_task(config.dataset)  # fail fast on missing data
    tuning, chosen = _tune(config, folder)
    folder.write_csv("tuning.csv", tuning)
    folder.write_json("chosen.json", chosen)
    caps = parse_pairs(config.max_width, "max_width", int)
    jobs = []
    for w in config.weights:
        for width in config.widths:
            for seed in config.seeds:
                for m in sorted(config.methods, key=CACHE_ORDER.index):  # the engine reuses its cached rows
                    if width > caps.get(m, width):
                        continue
                    c = chosen[f"{w}|{m}"]
                    kwargs = dict(task=config.dataset, width=width, method=m, seed=seed, weights=w, gain=c["gain"],
                                  lr=c["lr"], epochs=config.epochs, batch_size=config.batch_size)
                    jobs.append((f"run-{_tag(w)}-{m}-w{width}-s{seed}", train_unit, kwargs))
    rows = folder.units(jobs, label="width-sweep")
    for (_, _, kw), row in zip(jobs, rows):
        row["weights"] = kw["weights"]
    folder.write_csv("results.csv", rows)
    table = []
    for w in config.weights:
        for m in config.methods:
            for width in config.widths:
                acc = [r["accuracy"] for r in rows if r["weights"] == w and r["method"] == m and r["width"] == width]
                if not acc:
                    continue
                mean, sem = mean_sem(acc)
                params = next(r["trained_parameters"] for r in rows if r["weights"] == w and r["method"] == m and r["width"] == width)
                secs = [r["seconds"] for r in rows if r["weights"] == w and r["method"] == m and r["width"] == width]
                table.append({"weights": w, "method": m, "width": width, "trained_parameters": params, "seeds": len(acc),
                              "accuracy_mean": mean, "accuracy_sem": sem, "train_seconds_mean": sum(secs) / len(secs)})
    folder.write_csv("summary_table.csv", table)
    from biaslearn.plots.width_sweep import plot

    plot(folder.path)
    return {"chosen": chosen, "table": table}


def format_summary(summary: dict) -> str:
    lines = ["chosen (lr, readout gain) per weights|method: " + ", ".join(
        f"{k}: lr={v['lr']:g} g={v['gain']:g} (val {100 * v['validation_accuracy']:.1f}%)" for k, v in summary["chosen"].items())]
    lines.append(f"{'weights':12s} {'method':13s} {'width':>6s} {'params':>10s} {'acc %':>7s} {'sem':>5s}")
    for r in summary["table"]:
        lines.append(f"{r['weights']:12s} {r['method']:13s} {r['width']:6d} {r['trained_parameters']:10d} "
                     f"{100 * r['accuracy_mean']:7.2f} {100 * r['accuracy_sem']:5.2f}")
    return "\n".join(lines)
