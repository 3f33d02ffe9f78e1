"""Lorenz forecasting figures from <run>/results.csv, series.json and units/*/forecasts.npz:
closed-loop forecasts vs truth, RMSE vs lead time (in Lyapunov times), VPT per run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (selects the Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import save




def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    facts = json.loads((folder / "series.json").read_text())
    with open(folder / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    runs = [r["run"] for r in rows]
    data = {}
    for run in runs:
        with np.load(folder / "units" / run.replace("/", "-") / "forecasts.npz") as f:
            data[run] = {k: f[k] for k in f.files}
    lyap = 1.0 / (facts["lyapunov"] * facts["dt"])  # steps per Lyapunov time
    tau = facts["tau"]

    fig, axes = plt.subplots(len(runs), 2, figsize=(12, 2.2 * len(runs)), squeeze=False)
    for (ax_tf, ax_cl), run in zip(axes, runs):
        d = data[run]
        n = min(400, len(d["teacher_truth"]))
        ax_tf.plot(d["teacher_truth"][:n, 0], "k", lw=0.8, label="truth")
        ax_tf.plot(d["teacher_pred"][:n, 0], "C1", lw=0.8, ls="--", label="prediction")
        ax_tf.set_title(f"{run}: teacher-forced one-step", fontsize=8)
        t = np.arange(d["truth"].shape[1]) / lyap
        ax_cl.plot(t, d["truth"][0, :, 0], "k", lw=0.8, label="truth")
        ax_cl.plot(t, d["forecast"][0, :, 0], "C3", lw=0.8, ls="--", label="closed-loop forecast")
        ax_cl.axvline(tau / lyap, color="k", lw=0.5, ls=":")
        ax_cl.set_title(f"{run}: closed loop (dotted line: τ = {tau} steps)", fontsize=8)
        ax_cl.set_ylim(-3, 3)
    axes[-1, 0].set_xlabel("time step")
    axes[-1, 1].set_xlabel("Lyapunov times after warmup")
    axes[0, 0].legend(fontsize=7)
    axes[0, 1].legend(fontsize=7)
    fig.tight_layout()
    out1 = save(fig, folder / "forecasts.png", dpi=110)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
    for run in runs:
        curve = data[run]["rmse_curve"]
        ax1.plot(np.arange(len(curve)) / lyap, curve, label=run)
    ax1.axvline(tau / lyap, color="k", lw=0.5, ls=":")
    ax1.axhline(np.sqrt(2), color="gray", lw=0.5, ls="--")
    ax1.set_xlabel("lead time (Lyapunov times)")
    ax1.set_ylabel("closed-loop RMSE (std units)")
    ax1.legend(fontsize=7)
    ax1.grid(alpha=0.3)
    ax2.boxplot([data[r]["vpt_lyapunov"] for r in runs], tick_labels=runs)
    ax2.set_ylabel("valid prediction time (Lyapunov times)")
    ax2.tick_params(axis="x", labelsize=7, rotation=20)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    out2 = save(fig, folder / "errors.png", dpi=110)
    return [out1, out2]
