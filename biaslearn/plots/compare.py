"""Accuracy vs hidden width per method, from <run>/results.csv."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (selects the Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import save


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    with open(folder / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    series: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        series[row["method"]][int(row["width"])].append(float(row["test_accuracy"]))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method, by_width in series.items():
        widths = sorted(by_width)
        mean = np.array([np.mean(by_width[w]) for w in widths])
        sem = np.array([np.std(by_width[w]) / max(1, np.sqrt(len(by_width[w]) - 1)) for w in widths])
        ax.errorbar(widths, 100 * mean, yerr=100 * sem, marker="o", capsize=3, label=method)
    ax.set_xscale("log")
    all_widths = sorted({w for by_width in series.values() for w in by_width})
    ax.set_xticks(all_widths, [f"{w:,}" for w in all_widths])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel("hidden units")
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    ax.grid(alpha=0.3)
    out = folder / "accuracy_vs_width.png"
    save(fig, out)
    return [out]
