"""Width sweep (Fig. 1A, App. E2 of Williams et al. 2025) at the paper's protocol: test accuracy of
one-hidden-layer ReLU nets on Fashion-MNIST vs hidden width and vs trained parameters, methods
bias / bias+readout / readout / full, frozen weights U[-0.1, 0.1] or N(0, 1/fan_in), 5 seeds,
20 epochs, widths 32 to 32,000 (full training to 3,200).

Protocol (biaslearn/training/selection.py), per weight distribution, width and method: on the
tuning seeds every candidate (Adam learning rate; for bias-only, whose readout stays frozen, also
the readout gain g) is trained on the training split minus a 10% validation split; the candidate
with the best validation accuracy is that (weights, width, method)'s setting, and every other seed
trains only that candidate. For every seed the epoch with the best validation accuracy is chosen
and its test accuracy reported. A choice at the edge of its grid is flagged in the table."""

from __future__ import annotations

from dataclasses import dataclass

from biaslearn import data
from biaslearn.errors import BiaslearnError
from biaslearn.experiments.ffnet import WidthGrid, chosen_rows, mean_sem, train_candidate
from biaslearn.models import WeightDistribution
from biaslearn.results import RunFolder
from biaslearn.training import selection

NAME = "width-sweep"
DESCRIPTION = "Fig. 1A: accuracy vs hidden width / trained parameters, bias vs full vs readout (Fashion-MNIST)"


@dataclass(frozen=True)
class Config(WidthGrid):
    dataset: str = "fashion-mnist"
    widths: tuple[int, ...] = (32, 100, 320, 1000, 3200, 10000, 32000)
    methods: tuple[str, ...] = ("bias", "bias+readout", "readout", "full")
    weights: tuple[str, ...] = ("uniform:0.1", "gaussian:1")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    tune_seeds: tuple[int, ...] = (0,)  # seeds that train every candidate; the others train the chosen one
    epochs: int = 20
    batch_size: int = 256
    # candidate Adam learning rates per method ("method=lr/lr/..."), chosen on validation
    learning_rates: tuple[str, ...] = ("bias=0.003/0.01/0.03/0.1/0.3", "bias+readout=0.001/0.003/0.01/0.03",
                                       "readout=0.001/0.003/0.01/0.03", "full=0.0003/0.001/0.003/0.01")
    gains: tuple[str, ...] = ("bias=4/16/64/256",)  # candidate frozen-readout gains (frozen-readout methods only)
    validation: float = 0.1
    max_width: tuple[str, ...] = ("full=3200",)  # method=width: no wider runs of that method (compute cap)

    def __post_init__(self):
        if not self.widths or not self.methods or not self.seeds or not self.weights:
            raise BiaslearnError("widths, methods, seeds and weights must each list at least one value")
        for v in (self.epochs, self.batch_size):
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"epochs/batch_size: expected positive ints, got {v!r}")
        if not self.tune_seeds or not set(self.tune_seeds) <= set(self.seeds):
            raise BiaslearnError(f"tune_seeds: expected a non-empty subset of seeds {self.seeds}, got {self.tune_seeds}")
        for w in self.weights:
            WeightDistribution.parse(w)
        self.check_grid()


QUICK = {
    "dataset": "fashion-mnist+train:6000", "widths": (32, 256, 2048), "seeds": (0, 1), "epochs": 3, "max_width": ("full=256",),
    "learning_rates": ("bias=0.01/0.1", "bias+readout=0.003/0.03", "readout=0.003/0.03", "full=0.001/0.01"),
    "gains": ("bias=1/16",),
}

CACHE_ORDER = ("bias", "bias+readout", "readout", "full")  # methods sharing the engine's projection cache first


def _tag(weights: str) -> str:
    return weights.replace(":", "").replace("_", "")


def _job(config: Config, weights: str, width: int, method: str, seed: int, lr: float, gain: float):
    kwargs = {"dataset": config.dataset, "validation": config.validation, "weights": weights, "epochs": config.epochs,
              "batch_size": config.batch_size, "width": width, "method": method, "seed": seed, "lr": lr, "gain": gain}
    return f"{_tag(weights)}-w{width}-{method}-s{seed}-lr{lr:g}-g{gain:g}", train_candidate, kwargs


def _jobs(config: Config, seeds, settings) -> list:
    """Units per (weights, width, seed), the methods sharing the engine's cached rows in turn;
    settings(weights, width, method) gives the (lr, gain) candidates to train."""
    jobs = []
    for weights in config.weights:
        for width in config.widths:
            for seed in seeds:
                for method in sorted(config.methods, key=CACHE_ORDER.index):
                    if width in config.widths_of(method):
                        jobs += [_job(config, weights, width, method, seed, lr, g) for lr, g in settings(weights, width, method)]
    return jobs


def _labelled(jobs, rows) -> list[dict]:
    return [{"weights": kwargs["weights"], **row} for (_, _, kwargs), row in zip(jobs, rows)]


def _at_edge(value: float, grid) -> bool:
    return len(grid) > 1 and value in (min(grid), max(grid))


def run(config: Config, folder: RunFolder) -> dict:
    data.load_task(config.dataset)  # fail fast on missing data, before any unit starts
    rates, gains = config.grids()

    def grid(weights, width, method):
        return selection.candidates(method, rates[method], gains.get(method, (1.0,)))

    tune_jobs = _jobs(config, config.tune_seeds, grid)
    candidates = _labelled(tune_jobs, folder.units(tune_jobs, label="width-sweep: candidates on the tuning seeds"))
    folder.write_csv("candidates.csv", candidates)
    settings = {(r["weights"], r["width"], r["method"]): r for r in chosen_rows(candidates, by=("weights", "width", "method"))}

    def chosen(weights, width, method):
        return [(settings[weights, width, method]["lr"], settings[weights, width, method]["gain"])]

    other_seeds = tuple(s for s in config.seeds if s not in config.tune_seeds)
    seed_jobs = _jobs(config, other_seeds, chosen)
    rows = chosen_rows(candidates, by=("weights", "width", "method", "seed"))
    rows += chosen_rows(_labelled(seed_jobs, folder.units(seed_jobs, label="width-sweep: the other seeds")),
                        by=("weights", "width", "method", "seed"))
    folder.write_csv("results.csv", rows)
    table = []
    for weights in config.weights:
        for method in config.methods:
            for width in config.widths_of(method):
                group = [r for r in rows if (r["weights"], r["method"], r["width"]) == (weights, method, width)]
                mean, sem = mean_sem(r["test_accuracy"] for r in group)
                pick = settings[weights, width, method]
                edge = [name for name, value, values in (("lr", pick["lr"], rates[method]), ("gain", pick["gain"], gains.get(method, ())))
                        if _at_edge(value, values)]
                table.append({"weights": weights, "method": method, "width": width,
                              "trained_parameters": group[0]["trained_parameters"], "seeds": len(group),
                              "accuracy_mean": mean, "accuracy_sem": sem, "lr": pick["lr"], "gain": pick["gain"],
                              "tune_validation_accuracy": pick["validation_accuracy"],
                              "epoch_mean": sum(r["epoch"] for r in group) / len(group), "grid_edge": "+".join(edge),
                              "train_seconds_mean": sum(r["seconds"] for r in group) / sum(r["candidates"] for r in group)})
    folder.write_csv("summary_table.csv", table)
    folder.write_json("protocol.json", {
        "epochs": config.epochs, "seeds": list(config.seeds), "tune_seeds": list(config.tune_seeds),
        "validation": config.validation, "dataset": config.dataset, "max_width": list(config.max_width),
        "learning_rates": list(config.learning_rates), "gains": list(config.gains),
        "selection": "per (weights, width, method): the candidate with the best validation accuracy on the tuning seeds; "
                     "per seed: the epoch with the best validation accuracy; its test accuracy reported"})
    from biaslearn.plots.width_sweep import plot

    plot(folder.path)
    return {"table": table, "units": len(tune_jobs) + len(seed_jobs)}


def format_summary(summary: dict) -> str:
    lines = ["test accuracy (%) at the epoch chosen on validation, mean and SEM over seeds; settings chosen on validation",
             f"{'weights':12s} {'method':13s} {'width':>6s} {'params':>10s} {'acc %':>7s} {'sem':>5s} {'seeds':>5s} "
             f"{'lr':>7s} {'gain':>5s} {'epoch':>5s}"]
    for r in summary["table"]:
        edge = f"  (at the grid's edge: {r['grid_edge']})" if r["grid_edge"] else ""
        lines.append(f"{r['weights']:12s} {r['method']:13s} {r['width']:6d} {r['trained_parameters']:10d} "
                     f"{100 * r['accuracy_mean']:7.2f} {100 * r['accuracy_sem']:5.2f} {r['seeds']:5d} "
                     f"{r['lr']:7g} {r['gain']:5g} {r['epoch_mean']:5.1f}{edge}")
    return "\n".join(lines)
