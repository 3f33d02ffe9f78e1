"""One frozen network serving several tasks through a bias bank: which tasks can be loaded (the
missing ones skipped, with the reason), the readout size they share, a BiasBank filled from the
bias vectors saved by training units, and the own-vs-other task accuracy matrix."""

from __future__ import annotations

import numpy as np
import torch

from biaslearn import data
from biaslearn.errors import BiaslearnError
from biaslearn.models.bank import BiasBank
from biaslearn.results import RunFolder


def resolve_tasks(names, n_tasks: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The first `n_tasks` (default all) of `names` whose data load, in order, and why others were skipped."""
    chosen, skipped = [], {}
    for name in names:
        if n_tasks is not None and len(chosen) == n_tasks:
            break
        try:
            data.load_task(name)
        except BiaslearnError as exc:
            skipped[name] = str(exc)
            continue
        chosen.append(name)
    if not chosen:
        raise BiaslearnError(f"none of the tasks could be loaded: {skipped}")
    return chosen, skipped


def out_features(tasks: list[str]) -> int:
    """Outputs of a readout that serves every task: the most classes of any."""
    return max(data.load_task(t).out_features for t in tasks)


def tag(task: str) -> str:
    """A task name as part of a folder name."""
    return task.replace(":", "")


def fill_bank(model, saved: dict[str, RunFolder]) -> BiasBank:
    """A BiasBank on `model` with one entry per task from the biases.npz its unit folder saved."""
    bank = BiasBank(model)
    params = dict(model.named_parameters())
    for task, folder in saved.items():
        with torch.no_grad():
            for k, v in folder.load_arrays("biases").items():
                params[k].copy_(torch.from_numpy(v))
        bank.store(task)
    return bank


def test_inputs(task: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = data.load_task(task)
    return t.test.x[:n], t.test.y[:n]


def cross_accuracy(bank: BiasBank, tasks: list[str], n: int) -> np.ndarray:
    """acc[i, j] = accuracy on task i's first `n` test inputs with task j's bias vector."""
    acc = np.zeros((len(tasks), len(tasks)))
    model = bank.model.eval()
    for i, ti in enumerate(tasks):
        x, y = test_inputs(ti, n)
        for j, tj in enumerate(tasks):
            bank.use(tj)
            with torch.no_grad():
                acc[i, j] = float((model(x).argmax(1) == y).double().mean())
    return acc


def own_and_other(cross: np.ndarray) -> tuple[float, float]:
    """(mean accuracy with the task's own bias vector, mean with another task's) over (seeds, i, j)."""
    own = float(np.mean([np.diag(c).mean() for c in cross]))
    n = cross.shape[1]
    other = float(np.mean([(c.sum() - np.trace(c)) / (c.size - n) for c in cross])) if n > 1 else float("nan")
    return own, other
