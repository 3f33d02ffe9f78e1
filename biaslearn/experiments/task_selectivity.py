"""Task selectivity (Fig. 1C of Williams et al. 2025) on the multi-task bias bank: task variance
TV[u, t] = Var over task t's test inputs of relu(W x + b_t)_u, normalised per unit, K-means with K
chosen by silhouette (Yang et al. 2019), heat map sorted by cluster, Spearman(TV, learned bias)
per unit averaged within clusters, learned-bias distributions and units switched off per task.

Baselines: the same analysis for every network seed (across seeds), on a fully trained
multi-head network (shared hidden layer, one readout per task), and on column-shuffled profiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn import data
from biaslearn.analysis import hidden_activity, selectivity, switched_off_fraction, task_variance
from biaslearn.errors import BiaslearnError
from biaslearn.experiments import multitask
from biaslearn.config import parse_pairs
from biaslearn.experiments.ffnet import readout_spec
from biaslearn.models import WeightDistribution
from biaslearn.models.feedforward import NetworkSpec
from biaslearn.models.multihead import MultiHead
from biaslearn.results import RunFolder
from biaslearn.training.multihead import train_multihead

NAME = "task-selectivity"
DESCRIPTION = "Fig. 1C: task variance clusters of a multi-task bias bank, Spearman(TV, bias), multi-head baseline"


@dataclass(frozen=True)
class Config:
    tasks: tuple[str, ...] = multitask.TASKS
    fallbacks: tuple[str, ...] = multitask.FALLBACKS
    n_tasks: int = 7
    width: int = 32000
    seeds: tuple[int, ...] = (0, 1)  # network seeds: the analysis per seed is the across-seed baseline
    epochs: int = 20
    batch_size: int = 256
    lrs: tuple[str, ...] = ("bias=0.01",)
    weights: str = "gaussian:1"
    gain: float = 16.0
    samples: int = 2000  # test inputs per task for task variance
    k_max: int = 20
    multihead_width: int = 32000
    multihead_epochs: int = 20
    multihead_lr: float = 0.001

    def __post_init__(self):
        for v in (self.n_tasks, self.width, self.epochs, self.batch_size, self.samples, self.multihead_width, self.multihead_epochs):
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"sizes/epochs: expected positive ints, got {v!r}")
        if not isinstance(self.k_max, int) or self.k_max < 2:
            raise BiaslearnError(f"k_max: expected an int >= 2, got {self.k_max!r}")
        if not self.seeds:
            raise BiaslearnError("seeds: expected at least one seed")
        if "bias" not in parse_pairs(self.lrs, "lrs"):
            raise BiaslearnError(f"lrs: expected a bias=<lr> entry, got {self.lrs}")
        WeightDistribution.parse(self.weights)


QUICK = {
    "tasks": multitask.QUICK["tasks"], "fallbacks": (), "n_tasks": 4, "width": 1024, "seeds": (0, 1), "epochs": 4,
    "lrs": ("bias=0.05",), "samples": 500, "k_max": 8, "multihead_width": 256, "multihead_epochs": 2,
}


def bank_analysis(folder: RunFolder, config: Config, tasks: list[str], seed: int, n_out: int) -> dict:
    in_features = data.load_task(tasks[0]).in_features
    bank = multitask.load_bank(folder, config, tasks, seed, n_out, in_features)
    model = bank.model
    tv, bias, off = [], [], []
    for t in tasks:
        x, _ = multitask.test_inputs(t, config.samples)
        bank.use(t)
        h = hidden_activity(model, x)
        tv.append(task_variance(h))
        bias.append(model.hidden[0].bias.detach().numpy().astype(np.float64))
        off.append(switched_off_fraction(h))
    with torch.no_grad():
        model.hidden[0].bias.zero_()  # the untrained network (biases start at zero)
    off_init = [switched_off_fraction(hidden_activity(model, multitask.test_inputs(t, config.samples)[0])) for t in tasks]
    tv, bias = np.stack(tv, 1), np.stack(bias, 1)
    summary, arrays = selectivity(tv, bias, seed=seed, k_range=(2, config.k_max))
    summary.update({"switched_off": dict(zip(tasks, off)), "switched_off_untrained": dict(zip(tasks, off_init)),
                    "bias_quantiles": {t: np.quantile(bias[:, i], [0.05, 0.25, 0.5, 0.75, 0.95]).tolist() for i, t in enumerate(tasks)}})
    folder.save_arrays(f"selectivity_bias_s{seed}", {**arrays, "tv": tv, "bias": bias, "tasks": np.array(tasks)})
    return summary


def multihead_unit(sub: RunFolder, *, config: Config, tasks: list[str]) -> dict:
    loaded = [data.load_task(t) for t in tasks]
    spec = NetworkSpec(loaded[0].in_features, (config.multihead_width,), 1, seed=0, weights=config.weights,
                       readout=readout_spec(1.0))
    model = MultiHead(spec, tuple(t.out_features for t in loaded))
    history = train_multihead(model, loaded, epochs=config.multihead_epochs, lr=config.multihead_lr,
                              batch_size=config.batch_size, seed=0)
    tv = np.stack([task_variance(hidden_activity(model, t.test.x[: config.samples])) for t in loaded], 1)
    sub.save_arrays("tv", {"tv": tv})
    return {"accuracy": {k[4:]: v for k, v in history[-1].items() if k.startswith("acc/")}}


def run(config: Config, folder: RunFolder) -> dict:
    tasks, skipped = multitask.resolve_tasks(config)
    n_out = multitask.out_features(tasks)
    rows = folder.units(multitask.training_jobs(config, tasks, ("bias",), n_out), label="task-selectivity biases")
    folder.write_csv("bias_results.csv", rows)
    per_seed = {str(s): bank_analysis(folder, config, tasks, s, n_out) for s in config.seeds}
    mh = folder.unit("multihead", multihead_unit, config=config, tasks=tasks)
    tv = folder.sub("multihead").load_arrays("tv")["tv"]
    mh_summary, mh_arrays = selectivity(tv, None, seed=0, k_range=(2, config.k_max))
    mh_summary["accuracy"] = mh["accuracy"]
    folder.save_arrays("selectivity_multihead", {**mh_arrays, "tv": tv, "tasks": np.array(tasks)})
    summary = {"tasks": tasks, "skipped": list(skipped), "bias_bank": per_seed, "multihead": mh_summary,
               "bias_accuracy": {t: float(np.mean([r["accuracy"] for r in rows if r["task"] == t])) for t in tasks}}
    folder.write_json("selectivity.json", summary)
    from biaslearn.plots.task_selectivity import plot

    plot(folder.path)
    return summary


def format_summary(summary: dict) -> str:
    lines = []
    for seed, s in summary["bias_bank"].items():
        lines.append(f"bias bank seed {seed}: K={s['k']} (silhouette {s['silhouettes'][str(s['k'])]:.2f}), units kept "
                     f"{s['units_kept']}/{s['units']}, cluster R^2 {s['cluster_strength']:.2f} vs shuffled "
                     f"{s['shuffled_strength']:.2f}, Spearman(TV, bias) cluster mean {s['spearman_tv_bias_cluster_mean']:.2f}")
        lines.append("  switched off per task: " + ", ".join(f"{t} {100 * v:.0f}%" for t, v in s["switched_off"].items()))
    m = summary["multihead"]
    lines.append(f"multi-head full training: K={m['k']}, cluster R^2 {m['cluster_strength']:.2f} vs shuffled "
                 f"{m['shuffled_strength']:.2f}, accuracy " + ", ".join(f"{t} {100 * v:.0f}%" for t, v in m["accuracy"].items()))
    return "\n".join(lines)
