"""Multi-task (Fig. 1B of Williams et al. 2025) with a difficulty axis: one frozen random network,
one bias vector per task (a BiasBank), against readout-only training of the same network and full
training per task, each method at its own best settings.

Tasks of clearly different difficulty that ship offline: digits28 (sklearn's 8x8 digits at 28x28),
the 5,000-image MNIST subset, Fashion-MNIST and MNIST-1D (40 values zero-padded to 784 inputs);
MNIST and KMNIST join when BIASLEARN_DATA_DIR holds them. Permuted or rotated copies of one data
set are left out: to an i.i.d. random network they are the same task.

Protocol (biaslearn/training/selection.py) per network seed: every candidate is trained on the
task's training split minus 10% held out and evaluated on it every epoch; the (candidate, epoch)
with the best validation accuracy is chosen and its test accuracy reported. Bias-only's bias
vectors share one frozen readout, so its gain g is one per network: the gain whose best
candidates have the highest mean validation accuracy over tasks; each task then gets its own
learning rate at that gain. Readout-only trains a fan-in readout per task on the same frozen
hidden layer (learning rate per task). Full training trains a separate network per task at
`full_width` (learning rate per task). Every task gets at least `epochs` epochs and at least
`min_steps` optimizer steps (a 1,300-image task gets as many updates as Fashion-MNIST's 20
epochs). Difficulty of a task: full training's test error."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from biaslearn import data
from biaslearn.errors import BiaslearnError
from biaslearn.experiments import taskbank
from biaslearn.experiments.ffnet import build, chosen_rows, mean_sem, method_grids, train_candidate, training_rows
from biaslearn.models import WeightDistribution
from biaslearn.results import RunFolder
from biaslearn.training import selection

NAME = "multitask"
DESCRIPTION = "Fig. 1B: one random net, one bias vector per task, tasks of graded difficulty vs readout / full training"

TASKS = ("digits28", "mnist-subset", "mnist", "fashion-mnist", "kmnist", "mnist1d+padded:784")
METHODS = ("bias", "readout", "full")


@dataclass(frozen=True)
class Config:
    tasks: tuple[str, ...] = TASKS  # those whose data are missing are skipped (the summary says why)
    width: int = 16384  # the frozen network bias-only and readout-only share
    full_width: int = 1024  # full training, one network per task (saturated from ~1,000 units: see width-sweep)
    methods: tuple[str, ...] = METHODS
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 20  # at least; small tasks train for more epochs, up to min_steps optimizer steps
    min_steps: int = 1500  # the 1,300-image digits28 gets 250 epochs, the 3,600-image tasks 100
    batch_size: int = 256
    learning_rates: tuple[str, ...] = ("bias=0.01/0.03/0.1", "readout=0.001/0.003/0.01", "full=0.0003/0.001/0.003")
    gains: tuple[str, ...] = ("bias=16/64",)  # candidate gains of the frozen readout every bias vector shares
    validation: float = 0.1
    weights: str = "gaussian:1"
    cross_samples: int = 2000  # test inputs per task for the own-vs-other bias vector matrix

    def __post_init__(self):
        if not self.tasks or not self.seeds:
            raise BiaslearnError("tasks and seeds must each list at least one value")
        for v in (self.width, self.full_width, self.epochs, self.min_steps, self.batch_size, self.cross_samples):
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"width/full_width/epochs/min_steps/batch_size/cross_samples: expected positive ints, got {v!r}")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or "bias" not in self.methods:
            raise BiaslearnError(f"methods: expected 'bias' and any of {', '.join(METHODS[1:])}; got {', '.join(self.methods)}")
        if not 0 < self.validation < 1:
            raise BiaslearnError(f"validation: expected a fraction in (0, 1), got {self.validation}")
        WeightDistribution.parse(self.weights)
        self.grids()

    def grids(self) -> tuple[dict, dict]:
        """({method: candidate lrs}, {method: candidate readout gains})."""
        return method_grids(self.methods, self.learning_rates, self.gains, epochs=self.epochs, batch_size=self.batch_size)


QUICK = {
    "tasks": ("digits28", "mnist-subset", "fashion-mnist+train:4000", "mnist1d+padded:784"), "width": 1024,
    "full_width": 256, "seeds": (0, 1), "epochs": 4, "min_steps": 60, "cross_samples": 500,
    "learning_rates": ("bias=0.03/0.1", "readout=0.01/0.03", "full=0.001/0.003"), "gains": ("bias=16",),
}


def epochs_of(config: Config, task: str) -> int:
    """config.epochs, or more for a small task: enough for config.min_steps optimizer steps."""
    steps_per_epoch = math.ceil(training_rows(task, config.validation) / config.batch_size)
    return max(config.epochs, math.ceil(config.min_steps / steps_per_epoch))


def _job(config: Config, task: str, method: str, seed: int, lr: float, gain: float, n_out: int):
    kwargs = {"dataset": task, "validation": config.validation, "weights": config.weights, "epochs": epochs_of(config, task),
              "batch_size": config.batch_size, "width": config.full_width if method == "full" else config.width,
              "method": method, "seed": seed, "lr": lr, "gain": gain, "out_features": n_out, "keep_biases": method == "bias"}
    return f"{method}-{taskbank.tag(task)}-s{seed}-lr{lr:g}-g{gain:g}", train_candidate, kwargs


def jobs_of(config: Config, tasks: list[str], n_out: int) -> list:
    """Per seed and task, the methods on the shared frozen network first (they reuse the engine's
    cached rows), then full training."""
    rates, gains = config.grids()
    return [_job(config, task, m, seed, lr, g, n_out)
            for seed in config.seeds for task in tasks for m in config.methods
            for lr, g in selection.candidates(m, rates[m], gains.get(m, (1.0,)))]


def shared_gain(candidates: list[dict], seed: int) -> float:
    """The frozen-readout gain of seed's bias bank: the gain whose best candidate per task has the
    highest validation accuracy averaged over tasks (ties: the first gain tried)."""
    mine = [r for r in candidates if r["method"] == "bias" and r["seed"] == seed]
    per_gain: dict[float, dict[str, float]] = {}
    for r in mine:
        best = per_gain.setdefault(r["gain"], {})
        best[r["task"]] = max(best.get(r["task"], -1.0), r["validation_accuracy"])
    return max(per_gain, key=lambda g: np.mean(list(per_gain[g].values())))


def choose(candidates: list[dict], seeds) -> list[dict]:
    """Per (task, method, seed) the candidate chosen on validation, bias-only restricted to its
    seed's shared gain."""
    gain = {seed: shared_gain(candidates, seed) for seed in seeds}
    eligible = [r for r in candidates if r["method"] != "bias" or r["gain"] == gain[r["seed"]]]
    return chosen_rows(eligible, by=("task", "method", "seed"))


def bank_of(folder: RunFolder, config: Config, tasks: list[str], chosen: list[dict], seed: int, n_out: int):
    """The seed's frozen network with a BiasBank of each task's chosen bias vector."""
    picks = {r["task"]: r for r in chosen if r["method"] == "bias" and r["seed"] == seed}
    gain = picks[tasks[0]]["gain"]
    model = build(data.load_task(tasks[0]).in_features, config.width, n_out, seed=seed, weights=config.weights, gain=gain)
    return taskbank.fill_bank(model, {t: folder.sub(_job(config, t, "bias", seed, picks[t]["lr"], gain, n_out)[0]) for t in tasks})


def gap_table(table: list[dict], tasks: list[str], methods) -> list[dict]:
    """Per task: difficulty (full training's test error) and each method's gap to full training,
    in accuracy points (mean over seeds), tasks ordered from easy to hard."""
    acc = {(r["task"], r["method"]): r["accuracy_mean"] for r in table}
    rows = [{"task": t, "difficulty": 1.0 - acc[t, "full"],
             **{f"gap_{m}": acc[t, "full"] - acc[t, m] for m in methods if m != "full"}} for t in tasks]
    return sorted(rows, key=lambda r: r["difficulty"])


def run(config: Config, folder: RunFolder) -> dict:
    tasks, skipped = taskbank.resolve_tasks(config.tasks)
    shapes = {data.load_task(t).in_features for t in tasks}
    if len(shapes) > 1:
        raise BiaslearnError(f"multitask: one network serves every task, but the tasks have {sorted(shapes)} inputs; "
                             f"pad the smaller ones (e.g. 'mnist1d+padded:784')")
    n_out = taskbank.out_features(tasks)
    jobs = jobs_of(config, tasks, n_out)
    candidates = [{"task": kw["dataset"], **row} for (_, _, kw), row in zip(jobs, folder.units(jobs, label="multitask"))]
    folder.write_csv("candidates.csv", candidates)
    chosen = choose(candidates, config.seeds)
    folder.write_csv("results.csv", chosen)
    cross = []
    for seed in config.seeds:
        bank = bank_of(folder, config, tasks, chosen, seed, n_out)
        bank.save(folder.file(f"bias_bank_s{seed}.safetensors"))
        cross.append(taskbank.cross_accuracy(bank, tasks, config.cross_samples))
    cross = np.stack(cross)
    folder.save_arrays("cross_accuracy", {"accuracy": cross, "tasks": np.array(tasks)})
    table = []
    for task in tasks:
        for m in config.methods:
            sel = [r for r in chosen if r["task"] == task and r["method"] == m]
            mean, sem = mean_sem(r["test_accuracy"] for r in sel)
            table.append({"task": task, "method": m, "accuracy_mean": mean, "accuracy_sem": sem, "seeds": len(sel),
                          "trained_parameters": sel[0]["trained_parameters"],
                          "width": config.full_width if m == "full" else config.width,
                          "lrs": "/".join(f"{r['lr']:g}" for r in sel), "gains": "/".join(f"{r['gain']:g}" for r in sel),
                          "epochs": "/".join(str(r["epoch"]) for r in sel), "epochs_trained": epochs_of(config, task)})
    folder.write_csv("summary_table.csv", table)
    gaps = gap_table(table, tasks, config.methods) if "full" in config.methods else []
    if gaps:
        folder.write_csv("gap_vs_difficulty.csv", gaps)
    folder.write_json("protocol.json", {
        "epochs": config.epochs, "min_steps": config.min_steps, "batch_size": config.batch_size,
        "epochs_per_task": {t: epochs_of(config, t) for t in tasks}, "seeds": list(config.seeds), "validation": config.validation, "width": config.width,
        "full_width": config.full_width, "weights": config.weights, "learning_rates": list(config.learning_rates),
        "gains": list(config.gains), "difficulty": "full training's test error",
        "selection": "per (task, method, seed): best validation accuracy over candidates and epochs, its test accuracy "
                     "reported; bias-only's readout gain shared by the seed's tasks (best mean validation accuracy)"})
    own, other = taskbank.own_and_other(cross)
    from biaslearn.plots.multitask import plot

    plot(folder.path)
    return {"tasks": tasks, "skipped": {k: v[:200] for k, v in skipped.items()}, "table": table, "gaps": gaps,
            "own_bias_accuracy": own, "wrong_bias_accuracy": other}


def format_summary(summary: dict) -> str:
    lines = ["test accuracy (%) at the settings and epoch chosen on validation, mean ± SEM over seeds",
             f"{'task':26s} {'method':8s} {'width':>6s} {'params':>10s} {'acc %':>7s} {'sem':>5s}  lr per seed (gain)"]
    for r in summary["table"]:
        gain = f" (g {r['gains']})" if r["method"] == "bias" else ""
        lines.append(f"{r['task']:26s} {r['method']:8s} {r['width']:6d} {r['trained_parameters']:10d} "
                     f"{100 * r['accuracy_mean']:7.2f} {100 * r['accuracy_sem']:5.2f}  {r['lrs']}{gain}")
    if summary["gaps"]:
        lines.append("gap to full training (points) vs difficulty (full training's test error), easy to hard:")
        for g in summary["gaps"]:
            lines.append(f"  {g['task']:26s} error {100 * g['difficulty']:5.1f}%  "
                         + "  ".join(f"{k[4:]} {100 * v:+.1f}" for k, v in g.items() if k.startswith("gap_")))
    lines.append(f"own task's bias vector {100 * summary['own_bias_accuracy']:.1f}% vs another task's "
                 f"{100 * summary['wrong_bias_accuracy']:.1f}% (mean over tasks and seeds)")
    if summary["skipped"]:
        lines.append("skipped (no data): " + ", ".join(summary["skipped"]))
    return "\n".join(lines)
