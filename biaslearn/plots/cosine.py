"""Cosine generation: output vs target, and Jacobian eigenvalues at the fixed point (start, middle,
end of training) against the unit circle, per method; from <run>/units/<method>/*.npz."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (selects the Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import save


def _load(path: Path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    methods = sorted(p.name for p in (folder / "units").iterdir() if (p / "end.npz").exists())
    outputs = []
    fig, axes = plt.subplots(len(methods), 4, figsize=(15, 3.4 * len(methods)), squeeze=False)
    for row, method in zip(axes, methods):
        unit = folder / "units" / method
        end = _load(unit / "end.npz")
        t = np.arange(1, len(end["target"]) + 1)
        shown = min(len(t), 400)
        row[0].plot(t[:shown], end["target"][:shown], "k", lw=1, label="target")
        row[0].plot(t[:shown], end["output"][:shown], "C1", lw=1, ls="--", label="network")
        row[0].set_title(f"{method}: output (first {shown} steps)")
        row[0].set_xlabel("time step")
        row[0].legend(fontsize=7)
        theta = np.linspace(0, 2 * np.pi, 200)
        for ax, stage in zip(row[1:], ("start", "middle", "end")):
            path = unit / f"{stage}.npz"
            if not path.exists():
                ax.set_visible(False)
                continue
            eig = _load(path)["eigenvalues"]
            ax.plot(np.cos(theta), np.sin(theta), "k", lw=0.6)
            ax.scatter(eig.real, eig.imag, s=6, c="C0")
            ax.set_aspect("equal")
            ax.set_title(f"{method}: Jacobian eigenvalues, {stage}\nmax |λ| = {np.abs(eig).max():.3f}", fontsize=9)
            ax.set_xlabel("Re λ")
            ax.set_ylabel("Im λ")
    fig.tight_layout()
    out = folder / "cosine.png"
    save(fig, out, dpi=110)
    outputs.append(out)
    return outputs
