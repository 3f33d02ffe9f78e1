"""Figures of the construction experiment, drawn from the run folder's saved files only:
nested.csv, width_needed.csv, r_sweep.csv, gradient.csv, example.npz, config.json (if present)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from biaslearn.plots._io import save

STYLE = {"single": "-", "subset": "--"}


def _read(path: Path) -> list[dict]:
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k, v in r.items():
            try:
                r[k] = float(v)
            except (TypeError, ValueError):
                pass
    return rows




def _main_R(folder: Path, rows) -> float:
    config = folder / "config.json"
    if config.exists():
        return float(json.loads(config.read_text())["config"]["R"])
    return float(np.median([r["R"] for r in rows]))


def plot_error_vs_width(folder: Path, rows, R: float) -> Path:
    dims = sorted({int(r["dim"]) for r in rows})
    fig, axes = plt.subplots(1, len(dims), figsize=(5.2 * len(dims), 4), squeeze=False)
    for ax, d in zip(axes[0], dims):
        sel = [r for r in rows if r["dim"] == d and r["R"] == R]
        units = sorted({int(r["units"]) for r in sel})
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(units)))
        for n, color in zip(units, colors):
            for s in STYLE:
                pts = [r for r in sel if r["units"] == n and r["scheme"] == s]
                if not pts:
                    continue
                widths = sorted({r["width"] for r in pts})
                med = [np.median([r["sup"] for r in pts if r["width"] == w]) for w in widths]
                ax.plot(widths, med, STYLE[s], color=color, marker="o", ms=2, label=f"n={n} {s}")
        w = np.array(sorted({r["width"] for r in sel}))
        for slope, ls in ((-1 / (d + 1), ":"), (-1 / d, "-.")):
            ax.plot(w, 2 * (w / w[0]) ** slope, ls, color="gray", lw=1, label=f"slope {slope:.2f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("width of the random network N2")
        ax.set_ylabel("median sup-norm error")
        ax.set_title(f"{d}-D target, R={R:g}")
        ax.legend(fontsize=6, ncol=2)
    fig.suptitle("construction: selected units + set biases + all others switched off")
    return save(fig, folder / "construction_error_vs_width.png")


def plot_width_needed(folder: Path, needed, R: float) -> Path:
    dims = sorted({int(r["dim"]) for r in needed})
    fig, axes = plt.subplots(1, len(dims), figsize=(5.2 * len(dims), 4), squeeze=False)
    for ax, d in zip(axes[0], dims):
        sel = [r for r in needed if r["dim"] == d and r["R"] == R]
        units = sorted({int(r["units"]) for r in sel})
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(units)))
        for n, color in zip(units, colors):
            for s in STYLE:
                pts = sorted((r for r in sel if r["units"] == n and r["scheme"] == s), key=lambda r: -r["eps"])
                pts = [r for r in pts if np.isfinite(r["width_needed"])]
                if pts:
                    ax.plot([1 / r["eps"] for r in pts], [r["width_needed"] for r in pts], STYLE[s], color=color,
                            marker="o", ms=3, label=f"n={n} {s}")
            bound = sorted((r for r in sel if r["units"] == n and r["scheme"] == "single"), key=lambda r: -r["eps"])
            ax.plot([1 / r["eps"] for r in bound], [r["bound_width"] for r in bound], ":", color=color, lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("1 / eps")
        ax.set_ylabel("width needed (1-delta of seeds)")
        ax.set_title(f"{d}-D, R={R:g}; dotted: proof's bound")
        ax.legend(fontsize=6, ncol=2)
    return save(fig, folder / "width_needed.png")


def plot_r_sweep(folder: Path, r_sweep, needed, gradient) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    width = r_sweep[0]["width"]
    for s in STYLE:
        pts = sorted((r for r in r_sweep if r["scheme"] == s), key=lambda r: r["R"])
        Rs = [r["R"] for r in pts]
        axes[0].plot(Rs, [r["median_sup"] for r in pts], STYLE[s], marker="o", color="tab:blue", label=f"construction {s}")
        axes[0].fill_between(Rs, [r["q10_sup"] for r in pts], [r["q90_sup"] for r in pts], color="tab:blue", alpha=0.1)
        axes[1].plot(Rs, [r["success"] for r in pts], STYLE[s], marker="o", color="tab:blue", label=f"construction {s}")
    g = sorted((r for r in gradient if r["width"] == width), key=lambda r: r["R"])
    if g:
        Rs = sorted({r["R"] for r in g})
        med = [np.median([r["bias_sup"] for r in g if r["R"] == R]) for R in Rs]
        axes[0].plot(Rs, med, marker="s", color="tab:red", label="gradient bias learning")
        eps = r_sweep[0]["eps"]
        axes[1].plot(Rs, [np.mean([r["bias_sup"] <= eps for r in g if r["R"] == R]) for R in Rs], marker="s",
                     color="tab:red", label="gradient bias learning")
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.set_xlabel("sampling range R")
        ax.legend(fontsize=7)
    axes[0].set_yscale("log")
    axes[0].set_ylabel(f"sup error at width {int(width)} (median, 10-90%)")
    axes[1].set_ylabel(f"P(sup error <= {r_sweep[0]['eps']:g})")
    Rset = sorted({r["R"] for r in r_sweep})
    sel = [r for r in needed if r["R"] in Rset and r["scheme"] in STYLE]
    pairs = {(int(r["dim"]), int(r["units"])) for r in sel}
    d, n = max(pairs, key=lambda p: len({r["R"] for r in sel if (r["dim"], r["units"]) == p}))  # the swept target
    sel = [r for r in sel if r["dim"] == d and r["units"] == n]
    for eps, color in zip(sorted({r["eps"] for r in sel}), plt.cm.plasma(np.linspace(0, 0.8, 8))):
        for s in STYLE:
            pts = sorted((r for r in sel if r["eps"] == eps and r["scheme"] == s), key=lambda r: r["R"])
            pts = [r for r in pts if np.isfinite(r["width_needed"])]
            if pts:
                axes[2].plot([r["R"] for r in pts], [r["width_needed"] for r in pts], STYLE[s], marker="o", ms=3,
                             color=color, label=f"eps={eps:g} {s}")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("sampling range R")
    axes[2].set_ylabel("width needed")
    axes[2].legend(fontsize=6, ncol=2)
    fig.suptitle(f"the sampling range R ({d}-D target with {n} units, parameters in [-gamma, gamma])")
    return save(fig, folder / "r_sweep.png")


def plot_vs_gradient(folder: Path, gradient, R: float) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    g = [r for r in gradient if r["R"] == R]
    widths = sorted({r["width"] for r in g})
    for key, label, color in (("construction_single_sup", "construction single", "tab:blue"),
                              ("construction_subset_sup", "construction subset", "tab:cyan"),
                              ("bias_sup", "gradient bias learning", "tab:red")):
        vals = [[r[key] for r in g if r["width"] == w] for w in widths]
        ax.plot(widths, [np.median(v) for v in vals], marker="o", color=color, label=label)
        for w, v in zip(widths, vals):
            ax.scatter([w] * len(v), v, s=6, color=color, alpha=0.4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width (same frozen networks for all three)")
    ax.set_ylabel("sup-norm error")
    ax.set_title(f"construction vs gradient bias learning, R={R:g}")
    ax.legend(fontsize=7)
    return save(fig, folder / "construction_vs_gradient.png")


def plot_example(folder: Path) -> Path | None:
    if not (folder / "example.npz").exists():
        return None
    data = np.load(folder / "example.npz")
    if data["x"].shape[1] != 1:
        return None
    keys = [k for k in data.files if "/" in k]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    x, y = data["x"][:, 0], data["target"][:, 0]
    for ax, s in zip(axes, STYLE):
        ax.plot(x, y, color="black", lw=3, alpha=0.3, label="target N1")
        for k in sorted((k for k in keys if k.startswith(s + "/")), key=lambda k: int(k.split("/")[1])):
            ax.plot(x, data[k][:, 0], lw=1, label=f"N2 width {k.split('/')[1]}")
        ax.set_title(f"construction, scheme {s} (seed 0)")
        ax.set_xlabel("x")
        ax.legend(fontsize=7)
    return save(fig, folder / "construction_example.png")


def plot(folder_path) -> list[Path]:
    folder = Path(folder_path)
    rows = _read(folder / "nested.csv")
    needed = _read(folder / "width_needed.csv")
    r_sweep = _read(folder / "r_sweep.csv")
    gradient = _read(folder / "gradient.csv") if (folder / "gradient.csv").exists() else []
    R = _main_R(folder, rows)
    out = [plot_error_vs_width(folder, rows, R), plot_width_needed(folder, needed, R),
           plot_r_sweep(folder, r_sweep, needed, gradient)]
    if gradient:
        out.append(plot_vs_gradient(folder, gradient, R))
    example = plot_example(folder)
    if example is not None:
        out.append(example)
    return out
