"""Figures of the approximation study, drawn from a run folder's saved files only:
fits_<d>d.npz (targets and seed-0 fits on the grid), errors.csv (all runs)."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from biaslearn.plots._io import save

COLORS = {"bias": "tab:red", "full": "tab:blue", "readout": "tab:green", "bias+readout": "tab:purple"}


def _rows(path: Path) -> list[dict]:
    with open(path / "errors.csv") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k in ("dim", "width", "seed"):
            r[k] = int(r[k])
        for k in ("sup", "l1", "l2"):
            r[k] = float(r[k])
    return rows




def plot_fits(folder: Path, dim: int) -> Path | None:
    file = folder / f"fits_{dim}d.npz"
    if not file.exists():
        return None
    data = np.load(file)
    targets = sorted({k.split("/")[1] for k in data.files if k.startswith("target/")})
    fits = [k.split("/") for k in data.files if k.startswith("fit/")]
    methods = list(dict.fromkeys(m for _, _, m, _ in fits))
    width = max(int(w) for _, _, _, w in fits)
    x = data["x"]
    seed = int(data["seed"]) if "seed" in data.files else 0
    if dim == 1:
        fig, axes = plt.subplots(1, len(targets), figsize=(4.2 * len(targets), 3.4), squeeze=False)
        for ax, t in zip(axes[0], targets):
            ax.plot(x[:, 0], data[f"target/{t}"][:, 0], color="black", lw=3, alpha=0.35, label="target")
            for m in methods:
                ax.plot(x[:, 0], data[f"fit/{t}/{m}/{width}"][:, 0], color=COLORS.get(m), lw=1, label=m)
            ax.set_title(f"{t} (width {width}, seed {seed})")
            ax.set_xlabel("x")
        axes[0, 0].legend(fontsize=8)
    else:
        side = int(round(np.sqrt(len(x))))
        fig, axes = plt.subplots(len(targets), 1 + len(methods), figsize=(2.6 * (1 + len(methods)), 2.5 * len(targets)),
                                 squeeze=False)
        for row, t in enumerate(targets):
            y = data[f"target/{t}"][:, 0].reshape(side, side)
            lim = float(np.abs(y).max())
            axes[row, 0].imshow(y.T, origin="lower", extent=(-1, 1, -1, 1), cmap="RdBu_r", vmin=-lim, vmax=lim)
            axes[row, 0].set_title(f"target: {t}", fontsize=9)
            for col, m in enumerate(methods, start=1):
                err = np.abs(data[f"fit/{t}/{m}/{width}"][:, 0].reshape(side, side) - y)
                im = axes[row, col].imshow(err.T, origin="lower", extent=(-1, 1, -1, 1), cmap="magma")
                axes[row, col].set_title(f"|{m} - target|, sup {err.max():.3g}", fontsize=8)
                fig.colorbar(im, ax=axes[row, col], fraction=0.046)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"2-D targets and absolute errors of the fits (width {width}, seed {seed})")
    return save(fig, folder / f"fits_{dim}d.png")


def plot_error_vs_width(folder: Path) -> Path:
    rows = _rows(folder)
    panels = list(dict.fromkeys((r["dim"], r["target"]) for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = plt.subplots(2, len(panels), figsize=(3.6 * len(panels), 6.4), squeeze=False)
    for col, (d, t) in enumerate(panels):
        for row, norm in enumerate(("sup", "l2")):
            ax = axes[row, col]
            for m in methods:
                sel = [r for r in rows if r["dim"] == d and r["target"] == t and r["method"] == m]
                widths = sorted({r["width"] for r in sel})
                vals = [[r[norm] for r in sel if r["width"] == w] for w in widths]
                mean = np.array([np.mean(v) for v in vals])
                sem = np.array([np.std(v) / np.sqrt(len(v)) for v in vals])
                ax.errorbar(widths, mean, yerr=sem, marker="o", ms=3, color=COLORS.get(m), label=m, capsize=2)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{d}-D {t}", fontsize=9)
            ax.set_ylabel(f"{norm} error" if col == 0 else "")
            if row == 1:
                ax.set_xlabel("hidden width")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("error vs width (mean ± s.e.m. over seeds; frozen weights U[-R, R])")
    return save(fig, folder / "error_vs_width.png")


def plot(folder_path) -> list[Path]:
    folder = Path(folder_path)
    out = [plot_error_vs_width(folder)]
    for d in (1, 2):
        p = plot_fits(folder, d)
        if p is not None:
            out.append(p)
    return out
