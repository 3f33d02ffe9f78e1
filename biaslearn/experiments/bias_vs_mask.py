"""Bias vs mask learning (Fig. 2 of Williams et al. 2025) on bitwise the same frozen network
(`network_seed`), trained with several data-order seeds: accuracy of each, units used (mask: gate
on at test; both: task variance above thresholds relative to the mean TV of the bias network),
Spearman/Pearson correlation of per-unit task variances between methods and, as the baseline,
between two data-order seeds of the same method.

Mask learning (gate = sigmoid(steepness * score), steepness annealed 1 -> steepness_final, step at
test) is tuned on a validation split over learning rate and initial score; bias learning over lr."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from biaslearn import data
from biaslearn.analysis import hidden_activity, spearman, task_variance, units_used
from biaslearn.errors import BiaslearnError
from biaslearn.experiments.ffnet import fit, mean_sem, train_unit
from biaslearn.models import WeightDistribution
from biaslearn.results import RunFolder

NAME = "bias-vs-mask"
DESCRIPTION = "Fig. 2: bias vs mask learning on the same 10,000-unit random net: accuracy, units used, TV correlations"


@dataclass(frozen=True)
class Config:
    dataset: str = "fashion-mnist"
    width: int = 10000
    network_seed: int = 0
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # data-order seeds
    epochs: int = 20
    batch_size: int = 256
    weights: str = "gaussian:1"
    gain: float = 16.0  # frozen readout gain, shared by both methods
    bias_lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    mask_lrs: tuple[float, ...] = (3e-3, 1e-2, 3e-2, 1e-1)
    initial_scores: tuple[float, ...] = (0.1, 1.0, 3.0)
    steepness_final: float = 100.0
    tune_epochs: int = 5
    validation: float = 0.1
    thresholds: tuple[float, ...] = (0.0, 0.01, 0.1, 0.5)  # x mean TV of the bias network
    samples: int = 2000  # test inputs for task variance

    def __post_init__(self):
        for v in (self.width, self.epochs, self.batch_size, self.tune_epochs, self.samples):
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"width/epochs/batch_size/samples: expected positive ints, got {v!r}")
        if len(self.seeds) < 2:
            raise BiaslearnError(f"seeds: the seed-to-seed baseline needs at least 2 seeds, got {self.seeds}")
        if not self.bias_lrs or not self.mask_lrs or not self.initial_scores:
            raise BiaslearnError("bias_lrs, mask_lrs and initial_scores must each list at least one value")
        WeightDistribution.parse(self.weights)
        if not 0 < self.validation < 1:
            raise BiaslearnError(f"validation: expected a fraction in (0, 1), got {self.validation}")


QUICK = {"dataset": "fashion-mnist+train:6000", "width": 1000, "seeds": (0, 1), "epochs": 4, "bias_lrs": (1e-2, 1e-1),
         "mask_lrs": (1e-2, 1e-1), "initial_scores": (1.0,), "tune_epochs": 2, "samples": 1000}


def _common(config: Config) -> dict:
    return dict(task=config.dataset, width=config.width, seed=config.network_seed, weights=config.weights,
                gain=config.gain, batch_size=config.batch_size, steepness_final=config.steepness_final)


def trained_unit(sub: RunFolder, *, samples: int, **kwargs) -> dict:
    """Train on the full training split; save per-unit test task variance (and gates/biases)."""
    result, model = fit(sub, **kwargs)
    if model is None:
        raise BiaslearnError(f"{kwargs['method']} learning diverged at lr {kwargs['lr']}; pick a smaller rate")
    x = data.load_task(kwargs["task"]).test.x[:samples]
    h = hidden_activity(model, x)
    arrays = {"tv": task_variance(h), "bias": model.hidden[0].bias.detach().numpy()}
    if model.gates:
        arrays["gate"] = (model.gates[0].scores.detach() > 0).numpy()
        result["units_on"] = model.gates[0].units_on()
    sub.save_arrays("units", arrays)
    return result


def run(config: Config, folder: RunFolder) -> dict:
    data.load_task(config.dataset)
    jobs = [(f"tune-bias-lr{lr:g}", train_unit, {**_common(config), "method": "bias", "lr": lr,
                                                  "epochs": config.tune_epochs, "validation": config.validation})
            for lr in config.bias_lrs]
    jobs += [(f"tune-mask-lr{lr:g}-s0{s:g}", train_unit,
              {**_common(config), "method": "mask", "lr": lr, "initial_score": s, "epochs": config.tune_epochs,
               "validation": config.validation})
             for lr in config.mask_lrs for s in config.initial_scores]
    tuning = folder.units(jobs, label="bias-vs-mask tuning")
    for (_, _, kw), row in zip(jobs, tuning):
        row["initial_score"] = kw.get("initial_score", "")
    folder.write_csv("tuning.csv", tuning)
    best = {m: max((r for r in tuning if r["method"] == m), key=lambda r: r["accuracy"]) for m in ("bias", "mask")}
    chosen = {"bias": {"lr": best["bias"]["lr"]},
              "mask": {"lr": best["mask"]["lr"], "initial_score": best["mask"]["initial_score"]}}
    jobs = []
    for seed in config.seeds:
        for m in ("bias", "mask"):
            kw = {**_common(config), "method": m, "epochs": config.epochs, "order_seed": seed, "samples": config.samples,
                  **chosen[m]}
            jobs.append((f"{m}-s{seed}", trained_unit, kw))
    rows = folder.units(jobs, label="bias-vs-mask")
    folder.write_csv("results.csv", rows)
    tv = {(m, s): folder.sub(f"{m}-s{s}").load_arrays("units") for m in ("bias", "mask") for s in config.seeds}
    ref = float(np.mean([tv[("bias", s)]["tv"].mean() for s in config.seeds]))
    used = {m: [units_used(tv[(m, s)]["tv"], config.thresholds, ref) for s in config.seeds] for m in ("bias", "mask")}
    used_summary = {m: {t: mean_sem([u[t] for u in used[m]]) for t in used[m][0]} for m in used}
    gates_on = mean_sem([r["units_on"] for r in rows if r["method"] == "mask"])
    pairs = {"bias vs mask (same seed)": [(tv[("bias", s)]["tv"], tv[("mask", s)]["tv"]) for s in config.seeds],
             "bias vs bias (seed pairs)": [(tv[("bias", a)]["tv"], tv[("bias", b)]["tv"]) for a, b in combinations(config.seeds, 2)],
             "mask vs mask (seed pairs)": [(tv[("mask", a)]["tv"], tv[("mask", b)]["tv"]) for a, b in combinations(config.seeds, 2)]}
    corr = {k: {"spearman": mean_sem(spearman(a, b) for a, b in v),
                "pearson": mean_sem(float(np.corrcoef(a, b)[0, 1]) for a, b in v)} for k, v in pairs.items()}
    gate_agreement = mean_sem(float((tv[("mask", a)]["gate"] == tv[("mask", b)]["gate"]).mean())
                              for a, b in combinations(config.seeds, 2))
    accuracy = {m: mean_sem(r["accuracy"] for r in rows if r["method"] == m) for m in ("bias", "mask")}
    mean_tv = {m: mean_sem(tv[(m, s)]["tv"].mean() for s in config.seeds) for m in ("bias", "mask")}
    folder.save_arrays("unit_variances", {f"{m}_s{s}": tv[(m, s)]["tv"] for m, s in tv})
    summary = {"chosen": chosen, "accuracy": accuracy, "mask_units_on": gates_on, "units_used_by_tv": used_summary,
               "tv_reference_mean": ref, "correlation_of_unit_tv": corr, "mask_gate_agreement_across_seeds": gate_agreement,
               "mean_unit_tv": mean_tv, "width": config.width}
    folder.write_json("comparison.json", summary)
    from biaslearn.plots.bias_vs_mask import plot

    plot(folder.path)
    return summary


def format_summary(s: dict) -> str:
    lines = [f"chosen: {s['chosen']}",
             "accuracy: " + ", ".join(f"{m} {100 * v[0]:.2f}% ± {100 * v[1]:.2f}" for m, v in s["accuracy"].items()),
             f"mask units on (gate=1): {s['mask_units_on'][0]:.0f} ± {s['mask_units_on'][1]:.0f} of {s['width']}"]
    for m, by_t in s["units_used_by_tv"].items():
        lines.append(f"{m} units with TV > t x mean TV(bias): " + ", ".join(f"t={t}: {v[0]:.0f}" for t, v in by_t.items()))
    for k, v in s["correlation_of_unit_tv"].items():
        lines.append(f"{k}: Spearman {v['spearman'][0]:.3f}, Pearson {v['pearson'][0]:.3f}")
    return "\n".join(lines)
