"""The default experiment: bias-only vs readout-only vs full training of bitwise the same frozen
random networks (one hidden ReLU layer, Fashion-MNIST), each method at its own best settings.

Weights U[-1/sqrt(784), 1/sqrt(784)]. Protocol (biaslearn/training/selection.py): per method,
width and seed, every candidate learning rate (and, for bias-only with its frozen readout, readout
gain g) is trained on the training split minus 10% held out for validation; the (candidate, epoch)
with the best validation accuracy is chosen and its test accuracy reported. Bias-only and
readout-only go to 16,384 units (the engine makes that cheap); full training stops where it has
saturated (`max_width`, 1,024 units: the width sweep shows no gain beyond)."""

from __future__ import annotations

from dataclasses import dataclass

from biaslearn import data
from biaslearn.errors import BiaslearnError
from biaslearn.experiments.ffnet import WidthGrid, chosen_rows, mean_sem, train_candidate
from biaslearn.results import RunFolder
from biaslearn.training import selection

NAME = "compare"
DESCRIPTION = "bias-only vs readout-only vs full on Fashion-MNIST over widths, each method tuned on validation (default)"


@dataclass(frozen=True)
class Config(WidthGrid):
    dataset: str = "fashion-mnist"
    widths: tuple[int, ...] = (256, 1024, 4096, 16384)
    methods: tuple[str, ...] = ("bias", "readout", "full")
    max_width: tuple[str, ...] = ("full=1024",)  # method=width: no wider runs of that method
    seeds: tuple[int, ...] = (0,)
    epochs: int = 5
    batch_size: int = 256
    # candidate Adam learning rates per method ("method=lr/lr/..."), chosen on validation
    learning_rates: tuple[str, ...] = ("bias=0.003/0.01/0.03/0.1", "readout=0.003/0.01/0.03/0.1", "full=0.001/0.003/0.01",
                                       "bias+readout=0.003/0.01/0.03")
    gains: tuple[str, ...] = ("bias=16/64/256",)  # candidate frozen-readout gains (frozen-readout methods only)
    validation: float = 0.1
    weights: str = "uniform_fan_in:1"

    def __post_init__(self):
        if not self.widths or not self.methods or not self.seeds:
            raise BiaslearnError("widths, methods and seeds must each list at least one value")
        self.check_grid()


QUICK = {"dataset": "fashion-mnist+train:10000", "widths": (64, 512), "epochs": 2, "max_width": ()}


def jobs_of(config: Config) -> list[tuple[str, object, dict]]:
    rates, gains = config.grids()
    jobs = []
    for width in config.widths:  # widest last; per width the methods sharing the engine's cached projection in turn
        for method in config.methods:
            if width not in config.widths_of(method):
                continue
            for seed in config.seeds:
                for lr, gain in selection.candidates(method, rates[method], gains.get(method, (1.0,))):
                    kwargs = {"dataset": config.dataset, "validation": config.validation, "weights": config.weights,
                              "epochs": config.epochs, "batch_size": config.batch_size,
                              "width": width, "method": method, "seed": seed, "lr": lr, "gain": gain}
                    jobs.append((f"w{width}-{method}-s{seed}-lr{lr:g}-g{gain:g}", train_candidate, kwargs))
    return jobs


def run(config: Config, folder: RunFolder) -> dict:
    data.load_task(config.dataset)  # fail fast on missing data, before any unit starts
    candidates = folder.units(jobs_of(config), label="compare")
    folder.write_csv("candidates.csv", candidates)
    rows = chosen_rows(candidates)
    folder.write_csv("results.csv", rows)
    folder.write_json("protocol.json", {
        "epochs": config.epochs, "seeds": list(config.seeds), "validation": config.validation,
        "dataset": config.dataset, "weights": config.weights, "max_width": list(config.max_width),
        "selection": "best validation accuracy over candidates and epochs; its test accuracy reported"})
    from biaslearn.plots.compare import plot

    plot(folder.path)
    summary: dict = {"test_accuracy": {}, "sem": {}, "settings": {}, "units": len(candidates)}
    for row in rows:
        m, w = row["method"], str(row["width"])
        summary["settings"].setdefault(m, {}).setdefault(w, []).append(
            {"seed": row["seed"], "lr": row["lr"], "gain": row["gain"], "epoch": row["epoch"]})
    for m in config.methods:
        for w in config.widths_of(m):
            mean, sem = mean_sem(r["test_accuracy"] for r in rows if r["method"] == m and r["width"] == w)
            summary["test_accuracy"].setdefault(m, {})[str(w)] = mean
            summary["sem"].setdefault(m, {})[str(w)] = sem
    return summary


def format_summary(summary: dict) -> str:
    accuracy, settings = summary["test_accuracy"], summary.get("settings", {})
    widths = sorted({int(w) for by_width in accuracy.values() for w in by_width})
    lines = ["test accuracy (%), at the epoch and settings chosen on validation",
             f"{'method':14s}" + "".join(f"{w:>10d}" for w in widths)]
    for method, by_width in accuracy.items():
        cells = "".join(f"{100 * by_width[str(w)]:10.2f}" if str(w) in by_width else f"{'-':>10s}" for w in widths)
        lines.append(f"{method:14s}" + cells)
    lines.append("chosen (lr, gain, epoch) per width, seed 0:" if settings else "")
    for method, by_width in settings.items():
        picks = [f"{w}: {s[0]['lr']:g}, {s[0]['gain']:g}, {s[0]['epoch']}" for w, s in sorted(by_width.items(), key=lambda i: int(i[0]))]
        lines.append(f"  {method:12s}" + "; ".join(picks))
    return "\n".join(line for line in lines if line)
