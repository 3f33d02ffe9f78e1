"""BitFit figure from <run>/results.csv: test accuracy per method against trained parameters
(log axis), with the chosen learning rate and epoch in the caption."""

from __future__ import annotations

from pathlib import Path

import biaslearn.plots  # noqa: F401  (Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import read_csv, save


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    rows = read_csv(folder / "results.csv")
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for r in rows:
        x, y = int(r["trained_parameters"]), 100 * float(r["test_accuracy"])
        ax.scatter([x], [y], s=40)
        ax.annotate(f"{r['method']}\n{y:.1f}%", (x, y), fontsize=8, xytext=(5, -4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("trained parameters (log)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("all-MiniLM-L6-v2 on fortunes categories", fontsize=10)
    ax.grid(alpha=0.3)
    caption = "chosen on validation: " + "; ".join(f"{r['method']} lr {float(r['lr']):g}, epoch {r['epoch']}" for r in rows)
    fig.text(0.01, -0.04, caption, ha="left", va="top", fontsize=7.5)
    return [save(fig, folder / "accuracy_vs_trained_parameters.png")]
