"""Datasets and task builders. `load_task("fashion-mnist+permuted:1")` is the front door."""

from __future__ import annotations

from pathlib import Path

from biaslearn.data.images import BUILTIN, USER_IDX, load_image_task
from biaslearn.data.task import Split, Task, from_tensors
from biaslearn.data.variants import VARIANTS, apply_variant


def load_task(name: str, data_dir: str | Path | None = None) -> Task:
    """A task by name: a base dataset followed by optional '+variant' parts."""
    base, *variants = str(name).split("+")
    task = load_image_task(base.strip(), data_dir)
    for variant in variants:
        task = apply_variant(task, variant.strip())
    return task


__all__ = ["load_task", "Split", "Task", "from_tensors", "BUILTIN", "USER_IDX", "VARIANTS"]
