"""Task selectivity (Fig. 1C of Williams et al. 2025) on the multi-task bias bank: task variance
TV[u, t] = Var over task t's test inputs of relu(W x + b_t)_u, normalised per unit, K-means with K
chosen by silhouette (Yang et al. 2019), heat map sorted by cluster, Spearman(TV, learned bias)
per unit averaged within clusters, learned-bias distributions and units switched off per task.

Baselines: the same analysis for every network seed (across seeds), on a fully trained
multi-head network (shared hidden layer, one readout per task), and on column-shuffled profiles.
Nulls for Spearman(TV, bias), which a ReLU unit makes positive by construction (its variance
rises with its bias): task labels shuffled across each unit's biases, and the same frozen
network with untrained per-task biases drawn from the trained ones (`biaslearn.analysis.nulls`);
cluster R² against column-shuffled profiles; p-values per seed, mean ± SEM across seeds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biaslearn import data, rng
from biaslearn.analysis import (
    UNTRAINED_MODES, cluster_profiles, cluster_strength, describe, hidden_activity, label_shuffle_null, normalise_profiles,
    rowwise_spearman, selectivity, spearman_statistics, switched_off_fraction, task_variance, task_variance_with_biases,
    untrained_biases,
)
from biaslearn.errors import BiaslearnError
from biaslearn.experiments import taskbank
from biaslearn.config import parse_pairs
from biaslearn.experiments.ffnet import build, fit, mean_sem, readout_spec
from biaslearn.models import WeightDistribution
from biaslearn.models.bank import BiasBank, bank_parameter_names
from biaslearn.models.feedforward import NetworkSpec
from biaslearn.models.multihead import MultiHead
from biaslearn.results import RunFolder
from biaslearn.training.multihead import train_multihead

NAME = "task-selectivity"
DESCRIPTION = "Fig. 1C: task variance clusters of a multi-task bias bank, Spearman(TV, bias), multi-head baseline"


# the paper's 7 tasks where their data exist (mnist, kmnist, emnist-* need BIASLEARN_DATA_DIR),
# topped up from real 28x28 datasets we ship and their permuted / rotated variants
TASKS = ("mnist", "kmnist", "fashion-mnist", "emnist-letters", "mnist-subset", "digits28", "fashion-mnist+permuted:1")
FALLBACKS = ("fashion-mnist+rotated:90", "mnist-subset+permuted:1", "mnist-subset+rotated:90",
             "fashion-mnist+permuted:2", "digits28+permuted:1")


@dataclass(frozen=True)
class Config:
    tasks: tuple[str, ...] = TASKS
    fallbacks: tuple[str, ...] = FALLBACKS
    n_tasks: int = 7
    width: int = 32000
    seeds: tuple[int, ...] = (0, 1, 2)  # network seeds: the analysis per seed is the across-seed baseline
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
    label_permutations: int = 1000  # draws of the label-shuffle null of Spearman(TV, bias)
    untrained_draws: int = 9  # draws of each untrained-bias null (TV recomputed for each: ~0.5 s per task at 32,000 units)
    cluster_shuffles: int = 9  # column-shuffled profiles for the cluster R² null (a K-means fit each)

    def __post_init__(self):
        for v in (self.n_tasks, self.width, self.epochs, self.batch_size, self.samples, self.multihead_width, self.multihead_epochs,
                  self.label_permutations, self.untrained_draws, self.cluster_shuffles):
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"sizes/epochs/null draws: expected positive ints, got {v!r}")
        if not isinstance(self.k_max, int) or self.k_max < 2:
            raise BiaslearnError(f"k_max: expected an int >= 2, got {self.k_max!r}")
        if not self.seeds:
            raise BiaslearnError("seeds: expected at least one seed")
        if "bias" not in parse_pairs(self.lrs, "lrs"):
            raise BiaslearnError(f"lrs: expected a bias=<lr> entry, got {self.lrs}")
        WeightDistribution.parse(self.weights)


QUICK = {
    "tasks": ("fashion-mnist+train:3000", "mnist-subset", "digits28", "fashion-mnist+train:3000+permuted:1"), "fallbacks": (), "n_tasks": 4, "width": 1024, "seeds": (0, 1, 2), "epochs": 4,
    "lrs": ("bias=0.05",), "samples": 500, "k_max": 8, "multihead_width": 256, "multihead_epochs": 2,
    "label_permutations": 200, "untrained_draws": 9, "cluster_shuffles": 9,
}


NULLS = ("label_shuffle", *(f"untrained_{m}" for m in UNTRAINED_MODES))  # nulls of each Spearman statistic


def spearman_nulls(model, inputs: list[torch.Tensor], tv: np.ndarray, bias: np.ndarray, keep: np.ndarray,
                   labels: np.ndarray, *, config: Config, seed: int) -> tuple[dict, dict, dict]:
    """Spearman(TV, bias) of the kept units against its nulls -> ({statistic: {null: describe}}, arrays,
    {mode: cluster R² of the first untrained draw's profiles, K-means with the trained K}).

    inputs: one (samples, in_features) tensor per task; tv, bias: (units, tasks), trained."""
    observed = spearman_statistics(tv[keep], bias[keep], labels)
    draws = {"label_shuffle": label_shuffle_null(tv[keep], bias[keep], labels, permutations=config.label_permutations,
                                                 generator=rng.generator(seed, "task-selectivity/label-shuffle"))}
    arrays, cluster_r2 = {}, {}
    for mode in UNTRAINED_MODES:
        g = rng.generator(seed, f"task-selectivity/untrained/{mode}")
        b = np.stack([untrained_biases(bias, mode=mode, generator=g) for _ in range(config.untrained_draws)])  # (draws, units, tasks)
        null_tv = np.stack([task_variance_with_biases(model, x, b[:, :, i]) for i, x in enumerate(inputs)], 2)
        stats = [spearman_statistics(v[keep], d[keep], labels) for v, d in zip(null_tv, b)]
        draws[f"untrained_{mode}"] = {k: np.array([st[k] for st in stats]) for k in observed}
        arrays[f"untrained_{mode}_spearman"] = rowwise_spearman(null_tv[0][keep], b[0][keep])  # first draw, per unit
        profiles, _ = normalise_profiles(null_tv[0])  # does an untrained network cluster by task? (first draw, same K)
        k = int(labels.max()) + 1
        cluster_r2[mode] = cluster_strength(profiles, cluster_profiles(profiles, (k, k), seed=seed).labels)
    summary = {f"spearman_{k}": {n: describe(observed[k], draws[n][k]) for n in NULLS} for k in observed}
    arrays.update({f"null_{n}_{k}": draws[n][k] for n in NULLS for k in observed})
    return summary, arrays, cluster_r2


def bias_unit(folder: RunFolder, **kwargs) -> dict:
    """Bias learning on one task at a fixed rate; the trained bias vector is saved next to the
    result (biases.npz)."""
    result, model = fit(folder, **kwargs)
    if model is None:
        raise BiaslearnError(f"bias learning diverged on {kwargs['task']}; lower the bias learning rate")
    params = dict(model.named_parameters())
    folder.save_arrays("biases", {k: params[k].detach().numpy() for k in bank_parameter_names(model)})
    return result


def training_jobs(config: Config, tasks: list[str], n_out: int) -> list[tuple]:
    lr = parse_pairs(config.lrs, "lrs")["bias"]
    return [(f"bias-{taskbank.tag(task)}-s{seed}", bias_unit,
             dict(task=task, width=config.width, method="bias", seed=seed, weights=config.weights, gain=config.gain,
                  lr=lr, epochs=config.epochs, batch_size=config.batch_size, out_features=n_out))
            for seed in config.seeds for task in tasks]


def load_bank(folder: RunFolder, config: Config, tasks: list[str], seed: int, n_out: int) -> BiasBank:
    """The seed's frozen network with a BiasBank filled from the saved bias units."""
    model = build(data.load_task(tasks[0]).in_features, config.width, n_out, seed=seed, weights=config.weights, gain=config.gain)
    return taskbank.fill_bank(model, {t: folder.sub(f"bias-{taskbank.tag(t)}-s{seed}") for t in tasks})


def bank_analysis(folder: RunFolder, config: Config, tasks: list[str], seed: int, n_out: int) -> dict:
    bank = load_bank(folder, config, tasks, seed, n_out)
    model = bank.model
    inputs = [taskbank.test_inputs(t, config.samples)[0] for t in tasks]
    tv, bias, off, off_units = [], [], [], []
    for t, x in zip(tasks, inputs):
        bank.use(t)
        h = hidden_activity(model, x)
        tv.append(task_variance(h))
        bias.append(model.hidden[0].bias.detach().numpy().astype(np.float64))
        off.append(switched_off_fraction(h))
        off_units.append((h.abs().amax(0) == 0).numpy())
    with torch.no_grad():
        model.hidden[0].bias.zero_()  # the untrained network (biases start at zero)
    off_init = [switched_off_fraction(hidden_activity(model, x)) for x in inputs]
    tv, bias = np.stack(tv, 1), np.stack(bias, 1)
    summary, arrays = selectivity(tv, bias, seed=seed, k_range=(2, config.k_max), shuffles=config.cluster_shuffles,
                                  generator=rng.generator(seed, "task-selectivity/cluster-shuffle"))
    nulls, null_arrays, untrained_r2 = spearman_nulls(model, inputs, tv, bias, arrays["keep"], arrays["labels"],
                                                      config=config, seed=seed)
    nulls["cluster_strength"] = {"column_shuffle": describe(summary["cluster_strength"], summary["shuffled_strengths"])}
    summary.update({"nulls": nulls, "untrained_cluster_strength": untrained_r2, "switched_off": dict(zip(tasks, off)),
                    "switched_off_untrained": dict(zip(tasks, off_init)),
                    "bias_quantiles": {t: np.quantile(bias[:, i], [0.05, 0.25, 0.5, 0.75, 0.95]).tolist() for i, t in enumerate(tasks)}})
    folder.save_arrays(f"selectivity_bias_s{seed}", {**arrays, **null_arrays, "tv": tv, "bias": bias, "tasks": np.array(tasks),
                                                     "off": np.stack(off_units, 1), "cluster_null": np.array(summary["shuffled_strengths"])})
    return summary


def across_seeds(per_seed: dict[str, dict]) -> dict:
    """{statistic: {null: mean ± SEM over seeds of the observed value and the null mean, each seed's p}}."""
    out = {}
    first = next(iter(per_seed.values()))["nulls"]
    for stat, nulls in first.items():
        out[stat] = {}
        for null in nulls:
            rows = [s["nulls"][stat][null] for s in per_seed.values()]
            obs, obs_sem = mean_sem(r["observed"] for r in rows)
            nm, nm_sem = mean_sem(r["null_mean"] for r in rows)
            ps = [r["p"] for r in rows]
            out[stat][null] = {"observed_mean": obs, "observed_sem": obs_sem, "null_mean": nm, "null_mean_sem": nm_sem,
                               "p_per_seed": ps, "p_max": float(max(ps)), "seeds": len(rows)}
    out["untrained_cluster_strength"] = {m: mean_sem(s["untrained_cluster_strength"][m] for s in per_seed.values())
                                         for m in UNTRAINED_MODES}
    return out


def stats_rows(per_seed: dict[str, dict], multihead: dict, pooled: dict) -> list[dict]:
    """The CSV: one row per (network, seed, statistic, null); seed "mean" rows hold mean ± SEM over
    seeds and, as p, the largest per-seed p-value."""
    rows = []
    for network, seeds in (("bias bank", per_seed), ("multi-head", {"0": multihead})):
        for seed, s in seeds.items():
            for stat, nulls in s["nulls"].items():
                for null, d in nulls.items():
                    rows.append({"network": network, "seed": seed, "statistic": stat, "null": null, "observed": d["observed"],
                                 "observed_sem": "", "null_mean": d["null_mean"], "null_mean_sem": "", "null_sd": d["null_sd"],
                                 "z": d["z"], "draws": d["draws"], "p": d["p"]})
    for stat, nulls in pooled.items():
        if stat == "untrained_cluster_strength":
            continue
        for null, d in nulls.items():
            rows.append({"network": "bias bank", "seed": "mean", "statistic": stat, "null": null, "observed": d["observed_mean"],
                         "observed_sem": d["observed_sem"], "null_mean": d["null_mean"], "null_mean_sem": d["null_mean_sem"],
                         "null_sd": "", "z": "", "draws": "", "p": d["p_max"]})
    return rows


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
    tasks, skipped = taskbank.resolve_tasks((*config.tasks, *config.fallbacks), config.n_tasks)
    n_out = taskbank.out_features(tasks)
    rows = folder.units(training_jobs(config, tasks, n_out), label="task-selectivity biases")
    folder.write_csv("bias_results.csv", rows)
    per_seed = {str(s): bank_analysis(folder, config, tasks, s, n_out) for s in config.seeds}
    mh = folder.unit("multihead", multihead_unit, config=config, tasks=tasks)
    tv = folder.sub("multihead").load_arrays("tv")["tv"]
    mh_summary, mh_arrays = selectivity(tv, None, seed=0, k_range=(2, config.k_max), shuffles=config.cluster_shuffles,
                                        generator=rng.generator(0, "task-selectivity/multihead/cluster-shuffle"))
    mh_summary["accuracy"] = mh["accuracy"]
    mh_summary["nulls"] = {"cluster_strength": {"column_shuffle": describe(mh_summary["cluster_strength"], mh_summary["shuffled_strengths"])}}
    folder.save_arrays("selectivity_multihead", {**mh_arrays, "tv": tv, "tasks": np.array(tasks),
                                                 "cluster_null": np.array(mh_summary["shuffled_strengths"])})
    pooled = across_seeds(per_seed)
    summary = {"tasks": tasks, "skipped": list(skipped), "seeds": [int(s) for s in config.seeds], "bias_bank": per_seed,
               "across_seeds": pooled, "multihead": mh_summary,
               "bias_accuracy": {t: float(np.mean([r["accuracy"] for r in rows if r["task"] == t])) for t in tasks}}
    folder.write_json("selectivity.json", summary)
    folder.write_csv("selectivity_stats.csv", stats_rows(per_seed, mh_summary, pooled))
    from biaslearn.plots.task_selectivity import plot

    plot(folder.path)
    return summary


def format_summary(summary: dict) -> str:
    lines = []
    for seed, s in summary["bias_bank"].items():
        n = s["nulls"]
        sp = n["spearman_cluster_mean"]
        lines.append(f"bias bank seed {seed}: K={s['k']} (silhouette {s['silhouettes'][str(s['k'])]:.2f}), units kept "
                     f"{s['units_kept']}/{s['units']}, cluster R^2 {s['cluster_strength']:.3f} vs shuffled "
                     f"{s['shuffled_strength']:.3f} (p={s['cluster_strength_p']:.3g})")
        lines.append(f"  Spearman(TV, bias) cluster mean {sp['label_shuffle']['observed']:.3f}; nulls: " + ", ".join(
            f"{k} {d['null_mean']:.3f} (p={d['p']:.3g})" for k, d in sp.items()))
        lines.append("  switched off per task: " + ", ".join(f"{t} {100 * v:.0f}%" for t, v in s["switched_off"].items()))
    lines.append(f"across {len(summary['bias_bank'])} seeds (mean ± SEM; p = largest per-seed p):")
    for stat, nulls in summary["across_seeds"].items():
        if stat == "untrained_cluster_strength":
            lines.append("  cluster R^2 of an untrained network (first draw, same K): " + ", ".join(
                f"{m} {v[0]:.3f} ± {v[1]:.3f}" for m, v in nulls.items()))
            continue
        for null, d in nulls.items():
            lines.append(f"  {stat:24s} {d['observed_mean']:.3f} ± {d['observed_sem']:.3f} vs {null} "
                         f"{d['null_mean']:.3f} ± {d['null_mean_sem']:.3f}, p <= {d['p_max']:.3g}")
    m = summary["multihead"]
    lines.append(f"multi-head full training: K={m['k']}, cluster R^2 {m['cluster_strength']:.3f} vs shuffled "
                 f"{m['shuffled_strength']:.3f} (p={m['cluster_strength_p']:.3g}), accuracy "
                 + ", ".join(f"{t} {100 * v:.0f}%" for t, v in m["accuracy"].items()))
    return "\n".join(lines)
