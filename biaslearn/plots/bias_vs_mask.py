"""Bias-vs-mask figures from <run>/comparison.json and unit_variances.npz: accuracy and units
used per method, TV-vs-TV scatter between methods, correlation bars with seed-to-seed baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import save


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    s = json.loads((folder / "comparison.json").read_text())
    with np.load(folder / "unit_variances.npz", allow_pickle=False) as f:
        tv = {k: f[k] for k in f.files}
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    methods = list(s["accuracy"])
    axes[0].bar(methods, [100 * s["accuracy"][m][0] for m in methods], yerr=[100 * s["accuracy"][m][1] for m in methods], capsize=3)
    lo = min(100 * s["accuracy"][m][0] for m in methods)
    axes[0].set_ylim(max(0, lo - 10), 100)
    axes[0].set_ylabel("test accuracy (%)")
    thresholds = list(s["units_used_by_tv"]["bias"])
    x = np.arange(len(thresholds))
    for k, m in enumerate(methods):
        axes[1].bar(x + (k - 0.5) * 0.4, [s["units_used_by_tv"][m][t][0] for t in thresholds], 0.4, label=f"{m} (TV)")
    axes[1].axhline(s["mask_units_on"][0], color="k", ls="--", label="mask: gates on")
    axes[1].set_xticks(x, [f"> {t}" for t in thresholds], fontsize=8)
    axes[1].set_xlabel("unit TV threshold (× mean unit TV of bias learning)", fontsize=8)
    axes[1].set_ylabel(f"units used (of {s['width']:,})")
    axes[1].set_ylim(0, 1.25 * axes[1].get_ylim()[1])  # headroom: the legend sits above the bars
    axes[1].legend(fontsize=7, loc="upper right", ncols=3)
    a, b = tv["bias_s0"], tv["mask_s0"]
    axes[2].loglog(a + 1e-8, b + 1e-8, ".", ms=1, alpha=0.4)
    rho = s["correlation_of_unit_tv"]["bias vs mask (same seed)"]["spearman"][0]
    axes[2].set_xlabel("unit TV, bias learning (+1e-8: zero TV sits at 1e-8)", fontsize=8)
    axes[2].set_ylabel("unit TV, mask learning (+1e-8)", fontsize=8)
    axes[2].set_title(f"per-unit TV, bias vs mask: Spearman {rho:.2f} (seed 0)", fontsize=9)
    axes[0].set_title("test accuracy (mean ± SEM over seeds)", fontsize=9)
    axes[1].set_title("units used: TV above a threshold, or gate on", fontsize=9)
    out = [save(fig, folder / "bias_vs_mask.png")]
    fig, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
    names = list(s["correlation_of_unit_tv"])
    for k, kind in enumerate(("spearman", "pearson")):
        ax.bar(np.arange(len(names)) + (k - 0.5) * 0.4, [s["correlation_of_unit_tv"][n][kind][0] for n in names], 0.4,
               yerr=[s["correlation_of_unit_tv"][n][kind][1] for n in names], capsize=3, label=kind)
    ax.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=8)
    ax.set_ylabel("correlation of per-unit TV")
    ax.legend()
    out.append(save(fig, folder / "tv_correlations.png"))
    return out
