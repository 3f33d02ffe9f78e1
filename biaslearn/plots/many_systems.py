"""Many systems in one network: per-system valid prediction time and sMAPE per method/width, and
example closed-loop forecasts; from <run>/results.csv and units/*/result.npz."""

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
    systems = list(dict.fromkeys(r["system"] for r in rows))
    arms = list(dict.fromkeys(f"{r['method']}/n{r['units']}" for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
    width = 0.8 / len(arms)
    x = np.arange(len(systems))
    for k, arm in enumerate(arms):
        method, units = arm.split("/n")
        by = {r["system"]: r for r in rows if r["method"] == method and r["units"] == units}
        for ax, key in zip(axes, ("vpt_lyapunov_median", "smape")):
            ax.bar(x + k * width, [float(by[s][key]) if s in by else np.nan for s in systems], width, label=arm)
    for ax, label in zip(axes, ("median valid prediction time (Lyapunov times)", "sMAPE (0-200, standardised)")):
        ax.set_xticks(x + 0.4 - width / 2)
        ax.set_xticklabels(systems, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel(label, fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    out1 = folder / "per_system.png"
    save(fig, out1, dpi=110)

    arm = next((a for a in arms if a.startswith("bias/")), arms[0])
    method, units = arm.split("/n")
    cols = 4
    nrows = int(np.ceil(len(systems) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.2 * nrows), squeeze=False)
    for ax, system in zip(axes.ravel(), systems):
        path = folder / "units" / f"{system}-n{units}-{method}" / "result.npz"
        if not path.exists():
            continue
        with np.load(path) as f:
            fc, tr = f["forecast"], f["truth"]
        ax.plot(tr[0, :, 0], "k", lw=0.8)
        ax.plot(fc[0, :, 0], "C3", lw=0.8, ls="--")
        ax.set_title(system, fontsize=8)
        ax.tick_params(labelsize=6)
        ax.set_ylim(-3.5, 3.5)
    for ax in axes.ravel()[len(systems):]:
        ax.set_visible(False)
    fig.suptitle(f"{arm}: first coordinate, truth (black) vs closed-loop forecast (red)", fontsize=9)
    fig.tight_layout()
    out2 = folder / "forecasts.png"
    save(fig, out2, dpi=100)
    return [out1, out2]
