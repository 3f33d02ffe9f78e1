"""Multi-task figures from <run>/summary_table.csv, gap_vs_difficulty.csv and cross_accuracy.npz:
test accuracy per task and method (bars, SEM over seeds, tasks from easy to hard, protocol and
chosen settings in the caption), each method's gap to full training vs task difficulty, and the
own-vs-other bias vector matrix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import read_csv, save


def _caption(folder: Path, rows) -> str:
    if not (folder / "protocol.json").exists():
        return ""
    p = json.loads((folder / "protocol.json").read_text())
    seeds = len(p["seeds"])
    epochs = ", ".join(f"{t.split('+')[0]} {e}" for t, e in p.get("epochs_per_task", {}).items())
    return (f"{seeds} network seeds; epochs per task: {epochs} (>= {p.get('min_steps', '?')} steps); frozen weights {p['weights']}; bias and readout share one frozen "
            f"network of {p['width']:,} units, full training one network of {p['full_width']:,} units per task.\n"
            "Per task, method and seed: learning rate and epoch chosen on a 10% validation split; bias-only's readout gain "
            "is one per network (best mean validation accuracy). Chosen lr per seed:\n" + "\n".join(
                f"  {m}: " + "; ".join(f"{r['task'].split('+')[0]} {r['lrs']}" + (f" (g {r['gains']})" if m == "bias" else "")
                                        for r in rows if r["method"] == m)
                for m in dict.fromkeys(r["method"] for r in rows)))


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    rows = read_csv(folder / "summary_table.csv")
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    gaps_file = folder / "gap_vs_difficulty.csv"
    gaps = read_csv(gaps_file) if gaps_file.exists() else []
    if gaps:
        tasks = [g["task"] for g in gaps]  # easy to hard
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, ax = plt.subplots(figsize=(1.4 * len(tasks) + 3.5, 3.8))
    width = 0.8 / len(methods)
    for k, m in enumerate(methods):
        sel = {r["task"]: r for r in rows if r["method"] == m}
        x = np.arange(len(tasks)) + (k - (len(methods) - 1) / 2) * width
        params = int(sel[tasks[0]]["trained_parameters"])
        ax.bar(x, [100 * float(sel[t]["accuracy_mean"]) for t in tasks], width,
               yerr=[100 * float(sel[t]["accuracy_sem"]) for t in tasks], capsize=2, label=f"{m} ({params:,} trained/task)")
    ax.set_xticks(np.arange(len(tasks)), tasks, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(axis="y", alpha=0.3)
    if gaps:
        ax.set_title("tasks from easy to hard (full training's test error)", fontsize=9)
    caption = _caption(folder, rows)
    if caption:
        fig.text(0.01, -0.12, caption, ha="left", va="top", fontsize=7)
    out = [save(fig, folder / "accuracy_per_task.png")]
    if gaps:
        fig, ax = plt.subplots(figsize=(5.2, 3.8))
        for key in (k for k in gaps[0] if k.startswith("gap_")):
            x = [100 * float(g["difficulty"]) for g in gaps]
            y = [100 * float(g[key]) for g in gaps]
            ax.plot(x, y, marker="o", label=key[4:])
            for xi, yi, g in zip(x, y, gaps):
                ax.annotate(g["task"].split("+")[0], (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xlabel("task difficulty: full training's test error (%)")
        ax.set_ylabel("full training minus method (points)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        out.append(save(fig, folder / "gap_vs_difficulty.png"))
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
