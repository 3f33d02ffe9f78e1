"""Shared pieces of the feed-forward experiments: one-hidden-layer frozen ReLU nets, one training
run as a resumable unit, candidate grids per method parsed from "method=v/v/..." strings, the
candidate chosen on validation per group, mean/SEM."""

from __future__ import annotations

import functools
import math

import numpy as np

from biaslearn import data
from biaslearn.config import parse_pairs
from biaslearn.errors import BiaslearnError
from biaslearn.models import FeedForward, NetworkSpec
from biaslearn.models.bank import bank_parameter_names
from biaslearn.training import METHODS, TrainConfig, get_method, selection, train


def readout_spec(gain: float) -> str:
    """Frozen readout C ~ U[-g/sqrt(N), g/sqrt(N)] (the gain g decides whether bias learning works)."""
    return f"uniform_fan_in:{gain:g}"


def build(in_features: int, width: int, out_features: int, *, seed: int, weights: str, gain: float, gated: bool = False) -> FeedForward:
    spec = NetworkSpec(in_features, (width,), out_features, seed=seed, weights=weights, readout=readout_spec(gain), gated=gated)
    return FeedForward(spec)


def trained_parameters(model, method: str) -> int:
    return sum(p.numel() for p in get_method(method).trainable(model))


def fit(folder, *, task: str, width: int, method: str, seed: int, weights: str, gain: float, lr: float,
               epochs: int, batch_size: int, validation: float = 0.0, out_features: int | None = None,
               initial_score: float | None = None, steepness_final: float = 100.0, order_seed: int | None = None):
    """Train one network, checkpointed in `folder`: `seed` draws the frozen weights and the data
    order (`order_seed`, if given, draws the data order instead). Returns (result dict, trained model); the model is None if training diverged.

    validation > 0 trains on the training split minus that fraction and evaluates on it (tuning)."""
    t = data.load_task(task)
    if validation:
        import biaslearn.rng as rng

        t = t.with_validation(validation, generator=rng.generator(0, "validation"))
    model = build(t.in_features, width, out_features or t.out_features, seed=seed, weights=weights, gain=gain,
                  gated=method == "mask")
    if initial_score is not None and method == "mask":
        model.gates[0].scores.data.fill_(initial_score)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed if order_seed is None else order_seed, steepness_final=steepness_final)
    try:
        history = train(model, t, method, cfg, checkpoint_dir=folder.path)
    except BiaslearnError as exc:  # divergence at a too-large rate is a tuning outcome, not a crash
        if "diverged" not in str(exc):
            raise
        return {"task": task, "width": width, "method": method, "seed": seed, "lr": lr, "gain": gain,
                "accuracy": 0.0, "diverged": True, "seconds": 0.0, "trained_parameters": trained_parameters(model, method)}, None
    folder.write_csv("history.csv", history)
    result = {"task": task, "width": width, "method": method, "seed": seed, "lr": lr, "gain": gain,
              "accuracy": history[-1]["test_accuracy"], "diverged": False,
              "seconds": sum(h["seconds"] for h in history), "trained_parameters": trained_parameters(model, method)}
    return result, model


def train_unit(folder, **kwargs) -> dict:
    """`fit` as a resumable unit (folder.unit(name, train_unit, ...)): returns the result dict."""
    return fit(folder, **kwargs)[0]


@functools.lru_cache(maxsize=8)
def _split(dataset: str, fraction: float):
    """The dataset's (training minus validation, validation) split, made once per process: the same
    tensors for every unit, so the engine's row caches are found without hashing them again."""
    return selection.split_validation(data.load_task(dataset), fraction)


def training_rows(dataset: str, validation: float) -> int:
    """Training samples a candidate sees: the dataset's training split minus its validation share."""
    return len(_split(dataset, validation)[0].train)


def train_candidate(folder, *, dataset: str, validation: float, weights: str, epochs: int, batch_size: int,
                    width: int, method: str, seed: int, lr: float, gain: float, out_features: int | None = None,
                    keep_biases: bool = False) -> dict:
    """One candidate: trained on the training split minus validation, both evaluated every epoch.
    The result holds the best epoch on validation (selection.best_epoch). A unit of seconds to
    minutes: resumed as a whole, no per-epoch checkpoint (each would hold the frozen
    first layer: 51 MB at 16,384 units). `out_features` (default: the task's classes) lets tasks
    share a readout; `keep_biases` saves the bias vector of the best epoch as biases.npz (the
    entries of a BiasBank)."""
    task, held_out = _split(dataset, validation)
    model = build(task.in_features, width, out_features or task.out_features, seed=seed, weights=weights, gain=gain)
    result = {"width": width, "method": method, "seed": seed, "lr": lr, "gain": gain,
              "trained_parameters": trained_parameters(model, method)}
    train_config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    best: dict = {}

    def keep_best(record: dict) -> None:
        if keep_biases and record[selection.SCORE] > best.get("score", -1.0):  # the first of equal maxima, as best_epoch
            params = dict(model.named_parameters())
            best.update(score=record[selection.SCORE], biases={k: params[k].detach().numpy().copy() for k in bank_parameter_names(model)})

    try:
        history = train(model, task, method, train_config, extra_splits={"validation": held_out}, on_epoch=keep_best)
    except BiaslearnError as exc:  # a rate that diverges is a tuning outcome
        if "diverged" not in str(exc):
            raise
        return {**result, "diverged": True, "epoch": -1, "validation_accuracy": 0.0, "test_accuracy": 0.0,
                "last_test_accuracy": 0.0, "seconds": 0.0}
    folder.write_csv("history.csv", history)
    if keep_biases:
        folder.save_arrays("biases", best["biases"])
    chosen = selection.best_epoch(history)
    return {**result, "diverged": False, "epoch": chosen["epoch"] + 1, "validation_accuracy": chosen["validation_accuracy"],
            "test_accuracy": chosen["test_accuracy"], "last_test_accuracy": history[-1]["test_accuracy"],
            "seconds": sum(h["seconds"] for h in history)}


def _values(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split("/"))


def method_grids(methods, learning_rates, gains, *, epochs: int, batch_size: int) -> tuple[dict, dict]:
    """({method: candidate learning rates}, {method: candidate readout gains}) from
    ("bias=0.01/0.03", ...) strings, checked: every method has rates, every frozen-readout method
    has gains, every value is usable."""
    rates, gain_grid = parse_pairs(learning_rates, "learning_rates", _values), parse_pairs(gains, "gains", _values)
    for m in methods:
        if m not in rates:
            raise BiaslearnError(f"learning_rates: no rates for method {m!r}; got {', '.join(learning_rates)}")
        if selection.searches_gain(m) and m not in gain_grid:
            raise BiaslearnError(f"gains: no readout gains for frozen-readout method {m!r}; got {', '.join(gains)}")
        for lr, gain in selection.candidates(m, rates[m], gain_grid.get(m, (1.0,))):
            TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr)
            if not gain > 0:
                raise BiaslearnError(f"gains: expected positive numbers, got {gain!r} for {m}")
    return rates, gain_grid


class WidthGrid:
    """What the configs of sweeps over (width, method, candidate) share; the config dataclass has
    the fields widths, methods, learning_rates, gains, epochs, batch_size, validation, max_width."""

    def check_grid(self) -> None:
        for w in self.widths:
            if not isinstance(w, int) or w < 1:
                raise BiaslearnError(f"widths: expected positive ints, got {w!r}")
        for m in self.methods:
            if m not in METHODS or m == "mask":
                raise BiaslearnError(f"methods: unknown {m!r}; valid: bias, full, readout, bias+readout")
        if not 0 < self.validation < 1:
            raise BiaslearnError(f"validation: expected a fraction in (0, 1), got {self.validation}")
        self.grids()
        parse_pairs(self.max_width, "max_width", int)

    def grids(self) -> tuple[dict, dict]:
        """({method: candidate lrs}, {method: candidate readout gains})."""
        return method_grids(self.methods, self.learning_rates, self.gains, epochs=self.epochs, batch_size=self.batch_size)

    def widths_of(self, method: str) -> tuple[int, ...]:
        """The widths `method` runs at (max_width caps)."""
        cap = parse_pairs(self.max_width, "max_width", int).get(method)
        return tuple(w for w in self.widths if cap is None or w <= cap)


def chosen_rows(candidates: list[dict], by=("width", "method", "seed")) -> list[dict]:
    """Per group of candidates with equal `by` fields, the one with the best validation accuracy
    (selection.choose), with the group's size and total training seconds."""
    groups: dict[tuple, list[dict]] = {}
    for row in candidates:
        groups.setdefault(tuple(row[k] for k in by), []).append(row)
    rows = []
    for key, group in groups.items():
        best = selection.choose(group)
        rows.append({**dict(zip(by, key)), "lr": best["lr"], "gain": best["gain"], "epoch": best["epoch"],
                     "validation_accuracy": best["validation_accuracy"], "test_accuracy": best["test_accuracy"],
                     "trained_parameters": best["trained_parameters"], "candidates": len(group),
                     "seconds": sum(r["seconds"] for r in group)})
    return rows


def mean_sem(values) -> tuple[float, float]:
    v = np.asarray(list(values), dtype=np.float64)
    if len(v) == 0:
        return float("nan"), float("nan")
    sem = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
    return float(v.mean()), sem
