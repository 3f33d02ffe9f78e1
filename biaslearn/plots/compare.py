"""The default experiment's figure from <run>/results.csv and protocol.json: test accuracy vs
hidden width and vs trained parameters per method (mean and SEM over seeds), with the settings
chosen on validation and the protocol in the caption."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (selects the Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import read_csv, save


def _series(rows: list[dict]) -> dict[str, list[tuple[int, int, float, float]]]:
    """method -> [(width, trained parameters, mean accuracy %, SEM %)] by width."""
    by: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by[row["method"]][int(row["width"])].append(row)
    out = {}
    for method, by_width in by.items():
        points = []
        for width in sorted(by_width):
            acc = np.array([100 * float(r["test_accuracy"]) for r in by_width[width]])
            sem = float(acc.std(ddof=1) / np.sqrt(len(acc))) if len(acc) > 1 else 0.0
            points.append((width, int(by_width[width][0]["trained_parameters"]), float(acc.mean()), sem))
        out[method] = points
    return out


def _caption(rows: list[dict], protocol: dict) -> str:
    settings = []
    for method in dict.fromkeys(r["method"] for r in rows):
        picks = [r for r in rows if r["method"] == method and str(r["seed"]) == str(min(int(x["seed"]) for x in rows))]
        text = ", ".join(f"{int(r['width']):,}: lr {float(r['lr']):g}" + (f" g {float(r['gain']):g}" if method == "bias" else "")
                         + f" ep {r['epoch']}" for r in sorted(picks, key=lambda r: int(r["width"])))
        settings.append(f"{method}: {text}")
    seeds = protocol.get("seeds", [])
    head = (f"{protocol.get('dataset', '')}; {protocol.get('epochs', '?')} epochs, {len(seeds)} seed(s); "
            f"lr (and bias-only's readout gain g) and epoch chosen on a {protocol.get('validation', 0):.0%} validation split")
    if protocol.get("max_width"):
        head += f"; widths capped: {', '.join(protocol['max_width'])}"
    return head + "\n" + "\n".join(settings)


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    rows = read_csv(folder / "results.csv")
    protocol_file = folder / "protocol.json"
    protocol = json.loads(protocol_file.read_text()) if protocol_file.exists() else {}
    series = _series(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for method, points in series.items():
        widths, params, mean, sem = (np.array(v) for v in zip(*points))
        for ax, x in zip(axes, (widths, params)):
            ax.errorbar(x, mean, yerr=sem, marker="o", capsize=3, label=method)
    all_widths = sorted({p[0] for points in series.values() for p in points})
    axes[0].set_xscale("log")
    axes[0].set_xticks(all_widths, [f"{w:,}" for w in all_widths])
    axes[0].xaxis.set_minor_formatter(plt.NullFormatter())
    axes[0].set_xlabel("hidden units")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("trained parameters")
    axes[0].set_ylabel("test accuracy (%)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend()
    fig.text(0.01, -0.02, _caption(rows, protocol), ha="left", va="top", fontsize=7.5, wrap=True)
    out = folder / "accuracy_vs_width.png"
    save(fig, out)
    return [out]
