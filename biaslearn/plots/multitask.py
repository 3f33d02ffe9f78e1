"""Multi-task figures from <run>/summary_table.csv and cross_accuracy.npz: test accuracy per task
and method (bars, SEM over seeds) and the own-vs-other bias vector matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import read_csv, save


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    rows = read_csv(folder / "summary_table.csv")
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, ax = plt.subplots(figsize=(1.2 * len(tasks) + 3, 3.8))
    width = 0.8 / len(methods)
    for k, m in enumerate(methods):
        sel = {r["task"]: r for r in rows if r["method"] == m}
        x = np.arange(len(tasks)) + (k - (len(methods) - 1) / 2) * width
        params = int(sel[tasks[0]]["trained_parameters"])
        ax.bar(x, [100 * float(sel[t]["accuracy_mean"]) for t in tasks], width,
               yerr=[100 * float(sel[t]["accuracy_sem"]) for t in tasks], capsize=2, label=f"{m} ({params:,} trained/task)")
    ax.set_xticks(np.arange(len(tasks)), tasks, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(axis="y", alpha=0.3)
    out = [save(fig, folder / "accuracy_per_task.png")]
    with np.load(folder / "cross_accuracy.npz", allow_pickle=False) as f:
        cross, names = f["accuracy"].mean(0), list(f["tasks"])
    fig, ax = plt.subplots(figsize=(0.6 * len(names) + 3, 0.6 * len(names) + 2))
    im = ax.imshow(100 * cross, vmin=0, vmax=100, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("bias vector of task")
    ax.set_ylabel("test inputs of task")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{100 * cross[i, j]:.0f}", ha="center", va="center", fontsize=7, color="w" if cross[i, j] < 0.6 else "k")
    fig.colorbar(im, label="accuracy (%)")
    out.append(save(fig, folder / "cross_task_accuracy.png"))
    return out
