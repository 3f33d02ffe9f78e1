"""Van der Pol vs gain: train/test MSE per method over g (mean ± range over seeds), and the
free-running output of one seed per (method, gain); from <run>/results.csv and units/*/output.npz."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (selects the Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import save


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    with open(folder / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    gains = sorted({float(r["gain"]) for r in rows})
    methods = [m for m in ("bias", "full") if any(r["method"] == m for r in rows)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key in zip(axes, ("train_mse", "test_mse")):
        for method in methods:
            vals = [[float(r[key]) for r in rows if r["method"] == method and float(r["gain"]) == g] for g in gains]
            mean = np.array([np.mean(v) for v in vals])
            lo = mean - np.array([np.min(v) for v in vals])
            hi = np.array([np.max(v) for v in vals]) - mean
            count = next(r["trained_parameters"] for r in rows if r["method"] == method)
            units = next(r["units"] for r in rows if r["method"] == method)
            ax.errorbar(gains, mean, yerr=[lo, hi], marker="o", capsize=3, label=f"{method} ({units} units, {count} params)")
        ax.set_yscale("log")
        ax.axvline(1.0, color="k", lw=0.5, ls=":")
        ax.set_xlabel("gain g of W ~ N(0, g²/N)")
        ax.set_ylabel(key.replace("_", " ") + " (standardised)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out1 = folder / "mse_vs_gain.png"
    save(fig, out1, dpi=110)

    seed = min(int(r["seed"]) for r in rows)
    fig, axes = plt.subplots(len(methods), len(gains), figsize=(2.6 * len(gains), 2.4 * len(methods)), squeeze=False)
    for i, method in enumerate(methods):
        for j, g in enumerate(gains):
            ax = axes[i, j]
            path = folder / "units" / f"g{g:g}-{method}-s{seed}" / "output.npz"
            if not path.exists():
                ax.set_visible(False)
                continue
            with np.load(path) as f:
                out, tgt = f["output"], f["target"]
            ax.plot(tgt[:, 0], "k", lw=0.8)
            ax.plot(out[:, 0], "C1", lw=0.8, ls="--")
            ax.set_title(f"{method}, g={g:g}", fontsize=8)
            ax.tick_params(labelsize=6)
    fig.suptitle("x(t): target (black) vs free-running network (orange); training window then held-out continuation", fontsize=8)
    fig.tight_layout()
    out2 = folder / "traces.png"
    save(fig, out2, dpi=100)
    return [out1, out2]
