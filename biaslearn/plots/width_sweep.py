"""Width-sweep figures from <run>/summary_table.csv and candidates.csv: accuracy vs width, accuracy
vs trained parameters (log axes, SEM error bars, the settings chosen per width in the caption),
bias-only validation accuracy vs lr per readout gain at the widest width."""

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
    """Seeds and epochs per point, the protocol, where each method stops and the settings chosen on
    validation per width, from the run's saved files (protocol.json when present, the table)."""
    seeds = sorted({int(r["seeds"]) for r in rows})
    parts = [f"seeds per point: {'-'.join(map(str, seeds))}"]
    protocol_file = folder / "protocol.json"
    if protocol_file.exists():
        p = json.loads(protocol_file.read_text())
        parts.append(f"{p['epochs']} epochs, the epoch with the best validation accuracy ({p['validation']:.0%} held out); "
                     f"settings chosen per width on seed(s) {', '.join(map(str, p['tune_seeds']))}")
    widest = max(int(r["width"]) for r in rows)
    for m in dict.fromkeys(r["method"] for r in rows):
        top = max(int(r["width"]) for r in rows if r["method"] == m)
        if top < widest:
            parts.append(f"{m} stops at {top:,} units (compute cap)")
    lines = ["; ".join(parts), "chosen lr (and frozen-readout gain g) from the narrowest width to the widest:"]
    for w in dict.fromkeys(r["weights"] for r in rows):
        for m in dict.fromkeys(r["method"] for r in rows):
            sel = sorted((r for r in rows if r["weights"] == w and r["method"] == m), key=lambda r: int(r["width"]))
            if sel and "lr" in sel[0]:
                picks = " ".join(f"{float(r['lr']):g}" + (f"/g{float(r['gain']):g}" if float(r["gain"]) != 1 else "") for r in sel)
                lines.append(f"  {w}, {m}: {picks}")
    return "\n".join(lines) + "\n(g: gain of the frozen readout; readout-trained methods start from the fan-in readout, g = 1)"


def _tuning(folder: Path) -> Path | None:
    """Validation accuracy vs learning rate per readout gain, bias-only on the tuning seeds at the
    widest width: where in its grid bias learning's choice lies."""
    if not (folder / "candidates.csv").exists():
        return None
    bias = [r for r in read_csv(folder / "candidates.csv") if r["method"] == "bias"]
    if not bias:
        return None
    width = max(int(r["width"]) for r in bias)
    bias = [r for r in bias if int(r["width"]) == width]
    weights = list(dict.fromkeys(r["weights"] for r in bias))
    fig, axes = plt.subplots(1, len(weights), figsize=(5 * len(weights), 3.6), squeeze=False, sharey=True)
    for ax, w in zip(axes[0], weights):
        for g in sorted({float(r["gain"]) for r in bias}):
            sel = sorted((r for r in bias if r["weights"] == w and float(r["gain"]) == g), key=lambda r: float(r["lr"]))
            ax.plot([float(r["lr"]) for r in sel], [100 * float(r["validation_accuracy"]) for r in sel], marker="o", label=f"g={g:g}")
        ax.set_xscale("log")
        ax.set_xlabel("Adam learning rate")
        ax.set_title(f"bias-only candidates, {w}, {width:,} units", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("best validation accuracy (%)")
    axes[0][-1].legend(title="readout gain")
    return save(fig, folder / "tuning_bias_gain.png")


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    rows = read_csv(folder / "summary_table.csv")
    caption = _caption(folder, rows)
    out = []
    for key, name in (("width", "accuracy_vs_width.png"), ("trained_parameters", "accuracy_vs_parameters.png")):
        fig = _panels(rows, key)
        fig.text(0.01, -0.02, caption, ha="left", va="top", fontsize=7.5)
        out.append(save(fig, folder / name))
    tuning = _tuning(folder)
    return out + ([tuning] if tuning else [])
