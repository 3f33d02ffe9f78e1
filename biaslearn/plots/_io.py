"""Reading saved CSV tables and writing PNGs atomically (shared by the plot modules)."""

from __future__ import annotations

import csv
from pathlib import Path

from biaslearn import atomic


def read_csv(path: Path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def save(fig, path: Path, dpi: int = 120) -> Path:
    """Write `fig` as a PNG atomically (a reader never sees half a file), then close it."""
    import matplotlib.pyplot as plt

    atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))
    plt.close(fig)
    return path
