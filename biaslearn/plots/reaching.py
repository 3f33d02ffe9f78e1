"""Reaching figures from a run folder: hand paths (trained and unseen targets), error vs epoch per
method, endpoint error vs target angle, and curl-field adaptation with washout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import biaslearn.plots  # noqa: F401  (selects the Agg backend)
import matplotlib.pyplot as plt

from biaslearn.plots._io import read_csv, save

COLOURS = {"bias": "tab:blue", "full": "tab:orange", "readout": "tab:green", "bias+readout": "tab:purple"}






def _paths(ax, hands, angles, radius, style, colour_by_angle=True, label=None):
    cmap = plt.get_cmap("hsv")
    for hand, angle in zip(hands, angles):
        colour = cmap((angle % 360) / 360) if colour_by_angle else "k"
        ax.plot(100 * hand[:, 0], 100 * hand[:, 1], style, color=colour, lw=1.2, label=label)
        rad = np.deg2rad(angle)
        ax.plot(100 * radius * np.cos(rad), 100 * radius * np.sin(rad), "o", mfc="none", color=colour, ms=7)
        label = None


def plot(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    results = json.loads((folder / "results.json").read_text())
    config = json.loads((folder / "config.json").read_text())["config"] if (folder / "config.json").exists() else {}
    radius = config.get("radius_cm", 10.0) / 100
    methods = list(results["methods"])
    units = folder / "units"
    out = []

    fig, axes = plt.subplots(1, len(methods), figsize=(3.6 * len(methods), 3.6), squeeze=False)
    for ax, m in zip(axes[0], methods):
        with np.load(units / f"train-{m}" / "trajectories.npz") as t:
            _paths(ax, t["trained_hand"], t["trained_angles"], radius, "-", label="trained targets")
            _paths(ax, t["unseen_hand"], t["unseen_angles"], radius, "--", label="unseen targets")
        row = results["methods"][m]
        ax.set_title(f"{m}: {row['final_error_cm']:.2f} cm trained, {row['unseen_midway_error_cm']:.2f} unseen", fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlabel("x (cm)")
        ax.legend(fontsize=7, loc="lower left")
    axes[0][0].set_ylabel("y (cm)")
    out.append(save(fig, folder / "trajectories.png"))

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for m in methods:
        rows = read_csv(units / f"train-{m}" / "history.csv")
        epochs = [max(1, int(r["epoch"])) for r in rows]
        ax.plot(epochs, [100 * float(r["error"]) for r in rows], color=COLOURS.get(m), label=m)
        e = results["methods"][m]["epochs_to_criterion"]
        if e:
            ax.axvline(e, color=COLOURS.get(m), ls=":", lw=1)
    ax.axhline(results["criterion_cm"], color="k", ls="--", lw=0.8, label=f"criterion {results['criterion_cm']} cm")
    ratio = results.get("epochs_ratio_bias_over_full")
    ax.set_title(f"epochs to criterion, bias/full = {ratio:.1f}" if ratio else "endpoint error", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epoch (Adam steps)")
    ax.set_ylabel("endpoint error, training targets (cm)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    out.append(save(fig, folder / "error_vs_epoch.png"))

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for m in methods:
        with np.load(units / f"train-{m}" / "sweep.npz") as s:
            ax.plot(s["angles"], 100 * s["error"], marker=".", color=COLOURS.get(m), label=m)
    targets = config.get("targets", 8)
    for a in np.arange(targets) * 360 / targets:
        ax.axvline(a, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("target angle (deg; dotted: trained)")
    ax.set_ylabel("endpoint error (cm)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    out.append(save(fig, folder / "generalisation.png"))

    adapted = list(results.get("adaptation", {}))
    if adapted:
        fig, axes = plt.subplots(2, len(adapted), figsize=(4.5 * len(adapted), 7), squeeze=False)
        for col, m in enumerate(adapted):
            rows = read_csv(units / f"adapt-{m}" / "history.csv")
            ax = axes[0][col]
            for phase, colour in (("field", "tab:red"), ("washout", "tab:grey")):
                sel = [r for r in rows if r["phase"] == phase]
                ax.plot([int(r["epoch"]) for r in sel], [100 * float(r["signed_lateral"]) for r in sel], color=colour,
                        label=f"{phase}: signed lateral deviation")
                ax.plot([int(r["epoch"]) for r in sel], [100 * float(r["error"]) for r in sel], color=colour, ls="--",
                        label=f"{phase}: endpoint error")
            ax.axhline(0, color="k", lw=0.6)
            ax.set_xlabel("bias-only epochs after the field is switched on")
            ax.set_ylabel("cm")
            ax.set_title(f"curl {results['adaptation'][m]['curl']} N s/m, from the {m}-trained net", fontsize=9)
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
            ax = axes[1][col]
            with np.load(units / f"adapt-{m}" / "trajectories.npz") as t:
                angles = np.arange(targets) * 360 / targets
                for key, style, colour in (("baseline", "-", "k"), ("field_first", "-", "tab:red"),
                                           ("field_last", "--", "tab:red"), ("washout_first", "-", "tab:grey"),
                                           ("washout_last", "--", "tab:grey")):
                    if key in t.files:
                        for i, hand in enumerate(t[key]):
                            ax.plot(100 * hand[:, 0], 100 * hand[:, 1], style, color=colour, lw=1, label=key if i == 0 else None)
            for a in angles:
                ax.plot(100 * radius * np.cos(np.deg2rad(a)), 100 * radius * np.sin(np.deg2rad(a)), "o", mfc="none", color="k")
            ax.set_aspect("equal")
            ax.legend(fontsize=7, loc="lower left")
            ax.set_xlabel("x (cm)")
        out.append(save(fig, folder / "adaptation.png"))
    return out
