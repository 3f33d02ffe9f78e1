"""Width-sweep figures from <run>/summary_table.csv and tuning.csv: accuracy vs width, accuracy
vs trained parameters (log axes, SEM error bars), validation accuracy vs lr per readout gain."""

from __future__ import annotations

import json
from pathlib import Path

import biaslearn.plots  # noqa: F401  (Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import read_csv, save


def _panels(rows, key):
    weights = list(dict.fromkeys(r["weights"] for r in rows))
    fig, axes = plt.subplots(1, len(weights), figsize=(5 * len(weights), 3.6), squeeze=False, sharey=True)
    for ax, w in zip(axes[0], weights):
        for m in dict.fromkeys(r["method"] for r in rows):
            sel = sorted((r for r in rows if r["weights"] == w and r["method"] == m), key=lambda r: float(r[key]))
            if not sel:
                continue
            ax.errorbar([float(r[key]) for r in sel], [100 * float(r["accuracy_mean"]) for r in sel],
                        yerr=[100 * float(r["accuracy_sem"]) for r in sel], marker="o", capsize=3, label=m)
        ax.set_xscale("log")
        ax.set_title(f"frozen weights {w}")
        ax.set_xlabel("hidden units" if key == "width" else "trained parameters")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend()
    return fig


def _caption(folder: Path, rows) -> str:
    """Seeds and epochs per point, the settings chosen on validation and where each method stops,
    from the run's saved files (config.json when present, chosen.json, the table)."""
    seeds = sorted({int(r["seeds"]) for r in rows})
    parts = [f"seeds per point: {'-'.join(map(str, seeds))}"]
    config_file = folder / "config.json"
    if config_file.exists():
        c = json.loads(config_file.read_text()).get("config", {})
        parts.append(f"{c.get('epochs', '?')} epochs; settings tuned at {c.get('tune_width', '?')} units, "
                     f"{c.get('tune_epochs', '?')} epochs, on a {c.get('validation', 0):.0%} validation split")
    widest = max(int(r["width"]) for r in rows)
    for m in dict.fromkeys(r["method"] for r in rows):
        top = max(int(r["width"]) for r in rows if r["method"] == m)
        if top < widest:
            parts.append(f"{m} stops at {top:,} units (compute cap)")
    lines = ["; ".join(parts)]
    chosen_file = folder / "chosen.json"
    if chosen_file.exists():
        chosen = json.loads(chosen_file.read_text())
        for w in dict.fromkeys(k.split("|")[0] for k in chosen):
            lines.append(f"{w}: " + ", ".join(f"{k.split('|')[1]} lr {v['lr']:g}" + (f" g {v['gain']:g}" if v["gain"] != 1 else "")
                                               for k, v in chosen.items() if k.startswith(w + "|")))
    return "\n".join(lines) + "\n(g: gain of the frozen readout; readout-trained methods start from gain 1)"


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    rows = read_csv(folder / "summary_table.csv")
    caption = _caption(folder, rows)
    out = []
    for key, name in (("width", "accuracy_vs_width.png"), ("trained_parameters", "accuracy_vs_parameters.png")):
        fig = _panels(rows, key)
        fig.text(0.01, -0.02, caption, ha="left", va="top", fontsize=7.5)
        out.append(save(fig, folder / name))
    if not (folder / "tuning.csv").exists():
        return out
    tuning = read_csv(folder / "tuning.csv")
    bias = [r for r in tuning if r["method"] == "bias"]
    if bias:
        weights = list(dict.fromkeys(r["weights"] for r in bias))
        fig, axes = plt.subplots(1, len(weights), figsize=(5 * len(weights), 3.6), squeeze=False, sharey=True)
        for ax, w in zip(axes[0], weights):
            for g in sorted({float(r["gain"]) for r in bias}):
                sel = sorted((r for r in bias if r["weights"] == w and float(r["gain"]) == g), key=lambda r: float(r["lr"]))
                ax.plot([float(r["lr"]) for r in sel], [100 * float(r["accuracy"]) for r in sel], marker="o", label=f"g={g:g}")
            ax.set_xscale("log")
            ax.set_xlabel("Adam learning rate")
            ax.set_title(f"bias-only tuning, {w}, width {bias[0]['width']}")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("validation accuracy (%)")
        axes[0][-1].legend(title="readout gain")
        out.append(save(fig, folder / "tuning_bias_gain.png"))
    return out
