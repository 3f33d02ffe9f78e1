"""Scaling law of bias-only learning (a reviewer's question): how wide must a frozen random ReLU
layer be for training its biases alone to come within 1 point of full training?

Bias-only test accuracy on Fashion-MNIST is measured at widths 1,024 ... 32,768, each width at its
own best learning rate and readout gain chosen on validation (biaslearn/training/selection.py), and
fitted by acc(N) = a - b N^(-alpha) (analysis/power_law.py). Full training's accuracy is measured
in the same run (at `full_width`, its own learning rate chosen on validation). The fit predicts the
width where bias-only reaches full training minus `margin`, with a 95% interval (parametric
bootstrap), and its accuracy at `check_widths`; one run at each check width (beyond the fitted
range; the engine streams or stores bfloat16 rows when float32 ones do not fit) tests that
prediction, with the settings chosen at the widest fitted width."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biaslearn import data, rng
from biaslearn.analysis import power_law
from biaslearn.errors import BiaslearnError
from biaslearn.experiments.ffnet import mean_sem, train_candidate
from biaslearn.results import RunFolder
from biaslearn.training import selection

NAME = "scaling"
DESCRIPTION = "bias-only accuracy vs width to 131,072 units: power-law fit, predicted width to match full training, a check run"


@dataclass(frozen=True)
class Config:
    dataset: str = "fashion-mnist"
    widths: tuple[int, ...] = (1024, 2048, 4096, 8192, 16384, 32768)  # fitted
    check_widths: tuple[int, ...] = (131072,)  # run once each with the widest fitted width's settings
    seeds: tuple[int, ...] = (0,)
    epochs: int = 5
    batch_size: int = 256
    lrs: tuple[float, ...] = (0.003, 0.01, 0.03)
    gains: tuple[float, ...] = (16.0, 64.0)
    full_width: int = 1024
    full_lrs: tuple[float, ...] = (0.001, 0.003, 0.01)
    margin: float = 0.01  # "within 1 point of full training"
    validation: float = 0.1
    weights: str = "uniform_fan_in:1"

    def __post_init__(self):
        for w in (*self.widths, *self.check_widths, self.full_width, self.epochs, self.batch_size):
            if not isinstance(w, int) or w < 1:
                raise BiaslearnError(f"widths/epochs/batch_size: expected positive ints, got {w!r}")
        if len(self.widths) < 4:
            raise BiaslearnError(f"widths: the fit needs at least 4 widths, got {len(self.widths)}")
        if not self.seeds or not self.lrs or not self.gains or not self.full_lrs:
            raise BiaslearnError("seeds, lrs, gains and full_lrs must each list at least one value")
        if not 0 <= self.margin < 1 or not 0 < self.validation < 1:
            raise BiaslearnError(f"margin and validation: expected fractions, got {self.margin} and {self.validation}")


QUICK = {"dataset": "fashion-mnist+train:6000", "widths": (64, 128, 256, 512), "check_widths": (2048,), "epochs": 2,
         "lrs": (0.01, 0.03), "gains": (16.0, 64.0), "full_width": 256, "full_lrs": (0.003,)}


def _job(config: Config, width: int, method: str, seed: int, lr: float, gain: float):
    kwargs = {"dataset": config.dataset, "validation": config.validation, "weights": config.weights,
              "epochs": config.epochs, "batch_size": config.batch_size,
              "width": width, "method": method, "seed": seed, "lr": lr, "gain": gain}
    return (f"w{width}-{method}-s{seed}-lr{lr:g}-g{gain:g}", train_candidate, kwargs)


def _chosen(rows: list[dict]) -> dict[tuple, dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["method"], r["width"], r["seed"]), []).append(r)
    return {k: selection.choose(v) for k, v in groups.items()}


def run(config: Config, folder: RunFolder) -> dict:
    data.load_task(config.dataset)  # fail fast on missing data
    jobs = [_job(config, config.full_width, "full", s, lr, 1.0) for s in config.seeds for lr in config.full_lrs]
    jobs += [_job(config, w, "bias", s, lr, g) for w in config.widths for s in config.seeds
             for lr, g in selection.candidates("bias", config.lrs, config.gains)]
    tuned = _chosen(folder.units(jobs, label="scaling: tuned widths"))
    widest = max(config.widths)
    checks = [_job(config, w, "bias", s, tuned[("bias", widest, s)]["lr"], tuned[("bias", widest, s)]["gain"])
              for w in config.check_widths for s in config.seeds]
    checked = _chosen(folder.units(checks, label="scaling: check widths")) if checks else {}
    chosen = {**tuned, **checked}
    rows = [{"method": m, "width": w, "seed": s, "lr": r["lr"], "gain": r["gain"], "epoch": r["epoch"],
             "validation_accuracy": r["validation_accuracy"], "test_accuracy": r["test_accuracy"],
             "role": "full training" if m == "full" else ("check" if w in config.check_widths else "fit")}
            for (m, w, s), r in sorted(chosen.items(), key=lambda i: (i[0][0], i[0][1], i[0][2]))]
    folder.write_csv("results.csv", rows)

    def stats(method, width):
        return mean_sem(r["test_accuracy"] for r in rows if r["method"] == method and r["width"] == width)

    fitted = [stats("bias", w) for w in config.widths]
    sigma = [s for _, s in fitted] if len(config.seeds) > 1 else None
    f = power_law.fit(config.widths, [m for m, _ in fitted], sigma)
    full, full_sem = stats("full", config.full_width)
    target = full - config.margin
    samples = power_law.draws(f, generator=rng.generator(0, "scaling/bootstrap"))
    needed = power_law.interval([power_law.width_at(target, *p) for p in samples])
    checks_out = []
    for w in config.check_widths:
        measured, sem = stats("bias", w)
        predicted = power_law.interval([float(power_law.curve(np.log10(w), *p)) for p in samples])
        checks_out.append({"width": w, "measured": measured, "measured_sem": sem, "predicted": float(f.predict(w)),
                           "predicted_interval": [predicted[0], predicted[2]],
                           "inside": predicted[0] <= measured <= predicted[2]})
    summary = {
        "fit": {"a": f.a, "b": f.b, "alpha": f.alpha, "covariance": f.covariance, "residual_rms": f.residual_rms,
                "widths": list(config.widths), "a_interval": [power_law.interval(samples[:, 0])[i] for i in (0, 2)]},
        "full_training": {"width": config.full_width, "test_accuracy": full, "sem": full_sem},
        "target": target, "margin": config.margin,
        "width_needed": {"estimate": f.width_for(target), "interval": [needed[0], needed[2]]},
        "checks": checks_out, "seeds": list(config.seeds), "epochs": config.epochs,
    }
    folder.write_json("fit.json", summary)
    from biaslearn.plots.scaling import plot

    plot(folder.path)
    return summary


def format_summary(summary: dict) -> str:
    f, need = summary["fit"], summary["width_needed"]
    lines = [f"bias-only test accuracy = {f['a']:.4f} - {f['b']:.4g} N^-{f['alpha']:.3f} (rms residual {f['residual_rms']:.4f}; "
             f"asymptote 95% interval {f['a_interval'][0]:.4f} - {f['a_interval'][1]:.4f})",
             f"full training ({summary['full_training']['width']} units): {100 * summary['full_training']['test_accuracy']:.2f}%; "
             f"target {100 * summary['target']:.2f}%",
             f"width needed: {need['estimate']:,.0f} (95% interval {need['interval'][0]:,.0f} - {need['interval'][1]:,.0f})"]
    for c in summary["checks"]:
        lines.append(f"check at {c['width']:,}: measured {100 * c['measured']:.2f}%, predicted {100 * c['predicted']:.2f}% "
                     f"[{100 * c['predicted_interval'][0]:.2f}, {100 * c['predicted_interval'][1]:.2f}] "
                     f"({'inside' if c['inside'] else 'outside'} the interval)")
    return "\n".join(lines)
