"""The scaling-law figure from <run>/results.csv and fit.json: bias-only test accuracy vs width
(fitted widths and check widths), the fitted power law with its 95% band, full training's accuracy
and the target, and the predicted width with its interval."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (Agg backend)
import matplotlib.pyplot as plt

from biaslearn import rng
from biaslearn.analysis import power_law
from biaslearn.plots._io import read_csv, save


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    rows = read_csv(folder / "results.csv")
    summary = json.loads((folder / "fit.json").read_text())
    f = summary["fit"]
    fit = power_law.PowerLawFit(f["a"], f["b"], f["alpha"], tuple(map(tuple, f["covariance"])), f["residual_rms"])
    bias = [r for r in rows if r["method"] == "bias"]
    widths = sorted({int(r["width"]) for r in bias})
    grid = np.logspace(np.log10(min(widths) / 1.5), np.log10(max(widths) * 4), 200)
    samples = power_law.draws(fit, generator=rng.generator(0, "scaling/bootstrap"))
    band = np.array([power_law.curve(np.log10(grid), *p) for p in samples])
    lo, hi = np.percentile(band, [2.5, 97.5], axis=0)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.fill_between(grid, 100 * lo, 100 * hi, alpha=0.2, color="C0", label="fit, 95% band")
    ax.plot(grid, 100 * fit.predict(grid), color="C0")
    for role, marker, color in (("fit", "o", "C0"), ("check", "D", "C3")):
        sel = [r for r in bias if r["role"] == role]
        if sel:
            ax.plot([int(r["width"]) for r in sel], [100 * float(r["test_accuracy"]) for r in sel], marker, color=color,
                    label="bias-only (fitted)" if role == "fit" else "bias-only (check run)")
    full = summary["full_training"]
    ax.axhline(100 * full["test_accuracy"], color="C2", ls="--", label=f"full training ({full['width']:,} units)")
    ax.axhline(100 * summary["target"], color="C2", ls=":", label=f"target: full - {100 * summary['margin']:g} point")
    need = summary["width_needed"]
    a_lo, _, a_hi = power_law.interval(samples[:, 0])
    if math.isfinite(need["estimate"]):
        title = (f"width for bias-only to reach the target: {need['estimate']:,.0f} "
                 f"(95%: {need['interval'][0]:,.0f} - {need['interval'][1]:,.0f})")
    else:
        title = (f"target not reached: fitted asymptote {100 * fit.a:.2f}% "
                 f"(95%: {100 * a_lo:.2f} - {100 * a_hi:.2f}%) < target {100 * summary['target']:.2f}%")
    ax.set_title(title, fontsize=9)
    ax.set_xscale("log")
    ax.set_xlabel("hidden units")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="lower right")
    fig.text(0.01, -0.02, f"{len(summary['seeds'])} seed(s), {summary['epochs']} epochs; lr and readout gain per width chosen on "
             f"validation; check widths use the widest fitted width's settings; acc = a - b N^-alpha, "
             f"a = {fit.a:.4f}, alpha = {fit.alpha:.3f}", fontsize=7.5, ha="left", va="top")
    out = folder / "scaling.png"
    save(fig, out)
    return [out]
