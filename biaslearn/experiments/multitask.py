"""Multi-task (Fig. 1B of Williams et al. 2025): one frozen random network, one bias vector per
task (a BiasBank), compared with full training and readout-only training per task on networks of
the same architecture (same seed, so the same initial weights).

Tasks: the `tasks` list where their data exist (mnist, kmnist, emnist-* need BIASLEARN_DATA_DIR),
topped up to `n_tasks` from `fallbacks` (real 28x28 datasets we ship and their permuted/rotated
variants). Every network has max(classes) outputs so one readout serves every task. Also
evaluates each task's test set under every task's bias vector (the wrong-task control)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn import data
from biaslearn.errors import BiaslearnError
from biaslearn.config import parse_pairs
from biaslearn.experiments.ffnet import build, fit, mean_sem, train_unit
from biaslearn.models import WeightDistribution
from biaslearn.models.bank import BiasBank, bank_parameter_names
from biaslearn.results import RunFolder

NAME = "multitask"
DESCRIPTION = "Fig. 1B: one random net, one bias vector per task (7 tasks) vs full / readout training per task"

TASKS = ("mnist", "kmnist", "fashion-mnist", "emnist-letters", "mnist-subset", "digits28", "fashion-mnist+permuted:1")
FALLBACKS = ("fashion-mnist+rotated:90", "mnist-subset+permuted:1", "mnist-subset+rotated:90",
             "fashion-mnist+permuted:2", "digits28+permuted:1")


@dataclass(frozen=True)
class Config:
    tasks: tuple[str, ...] = TASKS
    fallbacks: tuple[str, ...] = FALLBACKS
    n_tasks: int = 7
    width: int = 32000
    methods: tuple[str, ...] = ("bias", "full", "readout")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: int = 20
    batch_size: int = 256
    lrs: tuple[str, ...] = ("bias=0.01", "full=0.001", "readout=0.01", "bias+readout=0.001")
    weights: str = "gaussian:1"
    gain: float = 16.0  # frozen readout C ~ U[-g/sqrt(N), g/sqrt(N)]
    cross_samples: int = 2000  # test inputs per task for the wrong-task matrix

    def __post_init__(self):
        if not self.tasks or not self.methods or not self.seeds:
            raise BiaslearnError("tasks, methods and seeds must each list at least one value")
        for v in (self.n_tasks, self.width, self.epochs, self.batch_size, self.cross_samples):
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"n_tasks/width/epochs/batch_size/cross_samples: expected positive ints, got {v!r}")
        if "bias" not in self.methods:
            raise BiaslearnError(f"methods: must include 'bias', got {self.methods}")
        rates = parse_pairs(self.lrs, "lrs")
        missing = [m for m in self.methods if m not in rates]
        if missing:
            raise BiaslearnError(f"lrs: no rate for method(s) {missing}; got {self.lrs}")
        WeightDistribution.parse(self.weights)
        if not self.gain > 0:
            raise BiaslearnError(f"gain: expected a positive number, got {self.gain}")


QUICK = {
    "tasks": ("fashion-mnist+train:3000", "mnist-subset", "digits28", "fashion-mnist+train:3000+permuted:1"),
    "fallbacks": (), "n_tasks": 4, "width": 1024, "seeds": (0, 1), "epochs": 4, "cross_samples": 500,
    "lrs": ("bias=0.05", "full=0.001", "readout=0.01"),
}


def resolve_tasks(config) -> tuple[list[str], dict[str, str]]:
    """The tasks to use (available ones first, then fallbacks) and why others were skipped."""
    chosen, skipped = [], {}
    for name in (*config.tasks, *config.fallbacks):
        if len(chosen) == config.n_tasks:
            break
        try:
            data.load_task(name)
        except BiaslearnError as exc:
            skipped[name] = str(exc)
            continue
        chosen.append(name)
    if not chosen:
        raise BiaslearnError(f"multitask: none of the tasks could be loaded: {skipped}")
    return chosen, skipped


def out_features(tasks: list[str]) -> int:
    return max(data.load_task(t).out_features for t in tasks)


def bias_unit(folder: RunFolder, **kwargs) -> dict:
    """Bias learning on one task; the trained bias vector is saved next to the result (biases.npz)."""
    result, model = fit(folder, **kwargs)
    if model is None:
        raise BiaslearnError(f"bias learning diverged on {kwargs['task']}; lower the bias learning rate")
    params = dict(model.named_parameters())
    folder.save_arrays("biases", {k: params[k].detach().numpy() for k in bank_parameter_names(model)})
    return result


def training_jobs(config, tasks: list[str], methods, n_out: int) -> list[tuple]:
    rates = parse_pairs(config.lrs, "lrs")
    jobs = []
    for seed in config.seeds:
        for task in tasks:
            for m in methods:
                kwargs = dict(task=task, width=config.width, method=m, seed=seed, weights=config.weights, gain=config.gain,
                              lr=rates[m], epochs=config.epochs, batch_size=config.batch_size, out_features=n_out)
                jobs.append((f"{m}-{task.replace(':', '')}-s{seed}", bias_unit if m == "bias" else train_unit, kwargs))
    return jobs


def load_bank(folder: RunFolder, config, tasks: list[str], seed: int, n_out: int, in_features: int) -> BiasBank:
    """Rebuild the seed's frozen network and fill a BiasBank from the saved bias units."""
    model = build(in_features, config.width, n_out, seed=seed, weights=config.weights, gain=config.gain)
    bank = BiasBank(model)
    params = dict(model.named_parameters())
    for task in tasks:
        saved = folder.sub(f"bias-{task.replace(':', '')}-s{seed}").load_arrays("biases")
        with torch.no_grad():
            for k, v in saved.items():
                params[k].copy_(torch.from_numpy(v))
        bank.store(task)
    return bank


def test_inputs(task: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = data.load_task(task)
    return t.test.x[:n], t.test.y[:n]


def cross_accuracy(bank: BiasBank, tasks: list[str], n: int) -> np.ndarray:
    """acc[i, j] = accuracy on task i's test inputs with task j's bias vector."""
    acc = np.zeros((len(tasks), len(tasks)))
    model = bank.model.eval()
    for i, ti in enumerate(tasks):
        x, y = test_inputs(ti, n)
        for j, tj in enumerate(tasks):
            bank.use(tj)
            with torch.no_grad():
                acc[i, j] = float((model(x).argmax(1) == y).double().mean())
    return acc


def run(config: Config, folder: RunFolder) -> dict:
    tasks, skipped = resolve_tasks(config)
    n_out = out_features(tasks)
    in_features = data.load_task(tasks[0]).in_features
    rows = folder.units(training_jobs(config, tasks, config.methods, n_out), label="multitask")
    folder.write_csv("results.csv", rows)
    cross = []
    for seed in config.seeds:
        bank = load_bank(folder, config, tasks, seed, n_out, in_features)
        bank.save(folder.file(f"bias_bank_s{seed}.safetensors"))
        cross.append(cross_accuracy(bank, tasks, config.cross_samples))
    cross = np.stack(cross)
    folder.save_arrays("cross_accuracy", {"accuracy": cross, "tasks": np.array(tasks)})
    table = []
    for task in tasks:
        for m in config.methods:
            sel = [r for r in rows if r["task"] == task and r["method"] == m]
            mean, sem = mean_sem(r["accuracy"] for r in sel)
            table.append({"task": task, "method": m, "accuracy_mean": mean, "accuracy_sem": sem, "seeds": len(sel),
                          "trained_parameters": sel[0]["trained_parameters"],
                          "train_seconds_mean": float(np.mean([r["seconds"] for r in sel]))})
    folder.write_csv("summary_table.csv", table)
    diag = np.mean([np.diag(c).mean() for c in cross])
    off = np.mean([(c.sum() - np.trace(c)) / (c.size - len(c)) for c in cross]) if len(tasks) > 1 else float("nan")
    from biaslearn.plots.multitask import plot

    plot(folder.path)
    return {"tasks": tasks, "skipped": {k: v[:200] for k, v in skipped.items()}, "table": table,
            "own_bias_accuracy": float(diag), "wrong_bias_accuracy": float(off)}


def format_summary(summary: dict) -> str:
    lines = [f"{'task':34s} {'method':8s} {'params':>10s} {'acc %':>7s} {'sem':>5s}"]
    for r in summary["table"]:
        lines.append(f"{r['task']:34s} {r['method']:8s} {r['trained_parameters']:10d} "
                     f"{100 * r['accuracy_mean']:7.2f} {100 * r['accuracy_sem']:5.2f}")
    lines.append(f"own task's bias vector {100 * summary['own_bias_accuracy']:.1f}% vs another task's "
                 f"{100 * summary['wrong_bias_accuracy']:.1f}% (mean over tasks and seeds)")
    if summary["skipped"]:
        lines.append("skipped (no data): " + ", ".join(summary["skipped"]))
    return "\n".join(lines)
