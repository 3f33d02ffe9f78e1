"""Task-selectivity figures from <run>/selectivity_*.npz and selectivity.json: normalised TV heat
maps (units x tasks, sorted by cluster), silhouette vs K, learned-bias distributions per task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import save


def _heatmap(ax, arrays, title):
    order = np.argsort(arrays["labels"], kind="stable")
    ax.imshow(arrays["profiles"][order], aspect="auto", interpolation="nearest", cmap="magma", vmin=0, vmax=1)
    bounds = np.cumsum(np.bincount(arrays["labels"]))[:-1]
    for b in bounds:
        ax.axhline(b - 0.5, color="c", lw=0.6)
    tasks = list(arrays["tasks"])
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right", fontsize=7)
    ax.set_title(title, fontsize=9)


def _load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    summary = json.loads((folder / "selectivity.json").read_text())
    seeds = list(summary["bias_bank"])
    panels = [(_load(folder / f"selectivity_bias_s{s}.npz"), f"bias bank, seed {s}, K={summary['bias_bank'][s]['k']}") for s in seeds]
    panels.append((_load(folder / "selectivity_multihead.npz"), f"multi-head full training, K={summary['multihead']['k']}"))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 5))
    for ax, (arrays, title) in zip(np.atleast_1d(axes), panels):
        _heatmap(ax, arrays, title)
    np.atleast_1d(axes)[0].set_ylabel("units (sorted by cluster)")
    out = [save(fig, folder / "task_variance_clusters.png")]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for s in seeds:
        sil = summary["bias_bank"][s]["silhouettes"]
        ax.plot([int(k) for k in sil], list(sil.values()), marker="o", label=f"bias bank s{s}")
    sil = summary["multihead"]["silhouettes"]
    ax.plot([int(k) for k in sil], list(sil.values()), marker="s", label="multi-head")
    ax.set_xlabel("K")
    ax.set_ylabel("silhouette")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    out.append(save(fig, folder / "silhouette.png"))
    arrays = panels[0][0]
    bias, tasks = arrays["bias"], list(arrays["tasks"])
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    lo, hi = np.quantile(bias, [0.005, 0.995])
    for i, t in enumerate(tasks):
        off = summary["bias_bank"][seeds[0]]["switched_off"][t]
        ax.hist(bias[:, i], bins=80, range=(lo, hi), histtype="step", label=f"{t} ({100 * off:.0f}% off)")
    ax.set_xlabel("learned hidden bias")
    ax.set_ylabel("units")
    ax.set_yscale("log")
    ax.legend(fontsize=6)
    out.append(save(fig, folder / "bias_distribution.png"))
    return out
