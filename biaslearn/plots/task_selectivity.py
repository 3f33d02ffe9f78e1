"""Task-selectivity figures from <run>/selectivity_*.npz and selectivity.json: normalised TV heat
maps (units x tasks, sorted by cluster), silhouette vs K, learned-bias distributions per task over
their whole range, and the statistics against their nulls (Spearman(TV, bias), cluster R²)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (Agg backend)
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator

from biaslearn.plots._io import save

NULL_STYLE = {  # null name in selectivity.json -> (legend label, colour)
    "label_shuffle": ("task labels shuffled per unit", "0.55"),
    "untrained_within-task": ("untrained: biases permuted across units within a task", "tab:orange"),
    "untrained_pooled": ("untrained: biases drawn from all trained biases", "tab:green"),
    "column_shuffle": ("profiles' task columns shuffled", "0.55"),
}


def _load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _thousands(v, _):
    return f"{v / 1000:g}k" if abs(v) >= 1000 else f"{v:g}"


def _heatmap(ax, arrays, title):
    order = np.argsort(arrays["labels"], kind="stable")
    im = ax.imshow(arrays["profiles"][order], aspect="auto", interpolation="nearest", cmap="magma", vmin=0, vmax=1)
    for b in np.cumsum(np.bincount(arrays["labels"]))[:-1]:
        ax.axhline(b - 0.5, color="c", lw=0.6)
    tasks = list(arrays["tasks"])
    ax.set_xticks(range(len(tasks)), tasks, rotation=50, ha="right", rotation_mode="anchor", fontsize=7)
    ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(title, fontsize=8)
    return im


def _heatmaps(folder, summary, seeds):
    panels = []
    for s in seeds:
        b = summary["bias_bank"][s]
        panels.append((_load(folder / f"selectivity_bias_s{s}.npz"),
                       f"bias bank, seed {s}\nK={b['k']}, R²={b['cluster_strength']:.2f} (shuffled {b['shuffled_strength']:.2f})"))
    m = summary["multihead"]
    panels.append((_load(folder / "selectivity_multihead.npz"),
                   f"multi-head full training\nK={m['k']}, R²={m['cluster_strength']:.2f} (shuffled {m['shuffled_strength']:.2f})"))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels) + 1.2, 5.2), layout="constrained")
    axes = np.atleast_1d(axes)
    for ax, (arrays, title) in zip(axes, panels):
        im = _heatmap(ax, arrays, title)
        ax.set_xlabel("task", fontsize=8)
    axes[0].set_ylabel("units (sorted by cluster; cyan lines separate clusters)", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.8, label="normalised task variance (TV / unit's largest TV)")
    return panels, save(fig, folder / "task_variance_clusters.png")


def _silhouette(folder, summary, seeds):
    fig, ax = plt.subplots(figsize=(4.8, 3.2), layout="constrained")
    curves = [(summary["bias_bank"][s]["silhouettes"], "o", f"bias bank s{s}") for s in seeds]
    curves.append((summary["multihead"]["silhouettes"], "s", "multi-head"))
    for sil, marker, label in curves:
        ks = sorted(int(k) for k in sil)  # JSON keys are strings: sort as numbers, not as text
        ax.plot(ks, [sil[str(k)] for k in ks], marker=marker, ms=3, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("K (clusters)")
    ax.set_ylabel("silhouette")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save(fig, folder / "silhouette.png")


def _bias_edges(bias: np.ndarray, lo: float, hi: float, bins: int = 80) -> tuple[np.ndarray, float]:
    """Linear bins over the central range, logarithmic ones over any tail beyond it (symlog axis)."""
    lin = max(abs(lo), abs(hi))
    edges = [np.linspace(-lin, lin, bins + 1)]
    if bias.min() < -lin:
        edges.insert(0, -np.geomspace(-bias.min() * 1.0001, lin, 12)[:-1])
    if bias.max() > lin:
        edges.append(np.geomspace(lin, bias.max() * 1.0001, 12)[1:])
    return np.concatenate(edges), lin


def _bias_distribution(folder, summary, arrays, seed):
    bias, tasks = arrays["bias"], list(arrays["tasks"])
    lo, hi = np.quantile(bias, [0.005, 0.995])
    beyond = int(((bias < lo) | (bias > hi)).sum())
    edges, lin = _bias_edges(bias, lo, hi)
    off = arrays.get("off")
    fig, axes = plt.subplots(1, 2 if off is not None else 1, figsize=(11 if off is not None else 6, 3.8),
                             layout="constrained", squeeze=False)
    ax = axes[0, 0]
    for i, t in enumerate(tasks):
        frac = summary["bias_bank"][seed]["switched_off"][t]
        ax.hist(bias[:, i], bins=edges, histtype="step", label=f"{t} ({100 * frac:.1f}% off)")
    ax.set_title(f"learned biases, seed {seed}: all {bias.size:,} unit-task biases, whole range [{bias.min():.2f}, "
                 f"{bias.max():.2f}]\n{beyond:,} ({100 * beyond / bias.size:.1f}%) lie beyond the central 99% "
                 f"[{lo:.2f}, {hi:.2f}] (dotted)", fontsize=8)
    if off is not None:
        ax2 = axes[0, 1]
        for i, t in enumerate(tasks):
            ax2.hist(bias[off[:, i], i], bins=edges, histtype="step", label=t)
        ax2.set_title(f"biases of switched-off units (zero on every test input of the task)\n"
                      f"{int(off.sum()):,} unit-task pairs, {int(off.any(1).sum()):,} units off for some task", fontsize=8)
    for a in axes[0]:
        a.set_xscale("symlog", linthresh=lin, linscale=2)
        ticks = [bias.min() if bias.min() < -lin else -lin, -lin / 2, 0.0, lin / 2, bias.max() if bias.max() > lin else lin]
        a.set_xticks(ticks, [f"{v:.2f}" for v in ticks])
        for v in (lo, hi):
            a.axvline(v, color="k", ls=":", lw=0.8)
        a.set_xlabel("learned hidden bias (linear within ±%.2f, logarithmic beyond)" % lin, fontsize=8)
        a.set_ylabel("units per bin")
        a.set_yscale("log")
    axes[0, 0].legend(fontsize=6, loc="lower center")
    return save(fig, folder / "bias_distribution.png")


def _strip(ax, x, values, colour, label, width=0.22):
    values = np.asarray(values)
    jitter = np.linspace(-width / 2, width / 2, len(values)) if len(values) > 1 else np.zeros(1)
    ax.plot(x + jitter, values, ".", color=colour, ms=2, alpha=0.5, label=label)


def _spearman_panel(ax, summary, seeds, panels, nulls):
    for xi, s in enumerate(seeds):
        arrays = panels[xi][0]
        for j, n in enumerate(nulls):
            key = f"null_{n}_cluster_mean"
            if key in arrays:
                _strip(ax, xi + (j - (len(nulls) - 1) / 2) * 0.27, arrays[key], NULL_STYLE[n][1],
                       NULL_STYLE[n][0] if xi == 0 else None)
        obs = summary["bias_bank"][s]["nulls"]["spearman_cluster_mean"]["label_shuffle"]["observed"]
        ax.plot([xi - 0.4, xi + 0.4], [obs, obs], "k-", lw=1.5, label="trained" if xi == 0 else None)
    pooled = summary["across_seeds"]["spearman_cluster_mean"]
    ax.set_xticks(range(len(seeds)), [f"seed {s}" for s in seeds])
    ax.set_ylabel("Spearman(TV, bias), mean of cluster means")
    return "; ".join(f"{NULL_STYLE[n][0].split(':')[0]} p≤{pooled[n]['p_max']:.2g}" for n in nulls)


def _nulls(folder, summary, seeds, panels):
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.4), layout="constrained")
    ps = _spearman_panel(axes[0], summary, seeds, panels, ["label_shuffle"])
    axes[0].axhline(0, color="k", lw=0.5)
    draws = summary["bias_bank"][seeds[0]]["nulls"]["spearman_cluster_mean"]["label_shuffle"]["draws"]
    axes[0].set_title(f"trained vs task labels shuffled per unit\n{ps} ({draws} permutations per seed)", fontsize=8)
    axes[0].legend(fontsize=6, loc="center right")
    untrained = [n for n in NULL_STYLE if n.startswith("untrained")]
    ps = _spearman_panel(axes[1], summary, seeds, panels, untrained)
    axes[1].set_title("trained vs untrained networks with the trained biases' distribution\n"
                      f"(zoomed; one-sided p, largest over seeds: {ps})", fontsize=8)
    axes[1].legend(fontsize=6, loc="lower center")
    ax = axes[2]
    networks = [(f"seed {s}", summary["bias_bank"][s], panels[i][0]) for i, s in enumerate(seeds)]
    networks.append(("multi-head", summary["multihead"], panels[-1][0]))
    for xi, (name, s, arrays) in enumerate(networks):
        _strip(ax, xi, s["shuffled_strengths"], NULL_STYLE["column_shuffle"][1], NULL_STYLE["column_shuffle"][0] if xi == 0 else None)
        ax.plot([xi - 0.3, xi + 0.3], [s["cluster_strength"]] * 2, "k-", lw=1.5, label="observed" if xi == 0 else None)
        ax.annotate(f"p={s['cluster_strength_p']:.2g}", (xi, s["cluster_strength"]), xytext=(-22, 4),
                    textcoords="offset points", ha="center", fontsize=7)
        for j, (mode, v) in enumerate(s.get("untrained_cluster_strength", {}).items()):
            ax.plot(xi + 0.15 * (2 * j - 1), v, "x", color=NULL_STYLE[f"untrained_{mode}"][1],
                    label=f"{NULL_STYLE['untrained_' + mode][0]} (one draw)" if xi == 0 else None)
    ax.set_xticks(range(len(networks)), [n for n, _, _ in networks])
    ax.set_ylabel("cluster R² (variance explained by clusters)")
    ax.set_title("cluster R² vs column-shuffled profiles (same K)", fontsize=8)
    ax.legend(fontsize=6, loc="lower left")
    ax = axes[3]
    arrays = panels[0][0]
    n = len(arrays["tasks"])
    step = 12 / (n * (n * n - 1))  # Spearman of n untied values moves in steps of 12 / (n(n²-1))
    bins = np.arange(-1 - step / 2, 1 + step, step)
    ax.hist(arrays["spearman"][np.isfinite(arrays["spearman"])], bins=bins, histtype="step", color="k", label="trained")
    for mode in ("within-task", "pooled"):
        rho = arrays.get(f"untrained_{mode}_spearman")
        if rho is not None:
            ax.hist(rho[np.isfinite(rho)], bins=bins, histtype="step", color=NULL_STYLE[f"untrained_{mode}"][1],
                    label=NULL_STYLE[f"untrained_{mode}"][0] + " (one draw)")
    ax.set_xlabel("Spearman(TV, bias) of one unit across tasks")
    ax.set_ylabel("units")
    ax.set_title(f"per-unit Spearman, seed {seeds[0]}", fontsize=8)
    ax.legend(fontsize=6, loc="upper left")
    return save(fig, folder / "nulls.png")


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    summary = json.loads((folder / "selectivity.json").read_text())
    seeds = list(summary["bias_bank"])
    panels, heat = _heatmaps(folder, summary, seeds)
    out = [heat, _silhouette(folder, summary, seeds), _bias_distribution(folder, summary, panels[0][0], seeds[0])]
    if "across_seeds" in summary:  # runs made before the nulls existed have none to draw
        out.append(_nulls(folder, summary, seeds, panels))
    return out
