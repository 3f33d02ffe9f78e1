"""Per-method settings chosen on validation data: the protocol of the feed-forward comparisons.

Every method starts from its own initialisation and gets its own best settings:
- methods that train the readout (full, readout, bias+readout) start from the standard fan-in
  readout U[-1/sqrt(N), 1/sqrt(N)] (gain 1);
- methods that keep the readout frozen (bias, mask) need a larger readout gain g
  (C ~ U[-g/sqrt(N), g/sqrt(N)]) for their hidden layer's changes to reach the output, so g is
  searched for them with the learning rate.
The frozen hidden weights are drawn from the network seed alone, so they are bitwise the same for
every method and every candidate. Each candidate (learning rate, gain) is trained on the training
split minus a validation fraction (the same held-out samples for every method and width: stream
"validation" under seed 0) and evaluated on the validation and test splits after every epoch. The
chosen (candidate, epoch) is the one with the best validation accuracy, and its test accuracy is
the one reported: early stopping on validation. No choice ever looks at the test split."""

from __future__ import annotations

from biaslearn import rng
from biaslearn.data.task import Split, Task
from biaslearn.errors import BiaslearnError

FROZEN_READOUT = ("bias", "mask")  # methods whose readout stays at its initial (gain g) values
SCORE = "validation_accuracy"


def searches_gain(method: str) -> bool:
    """Whether the readout gain is one of `method`'s settings (frozen readout) or fixed at 1."""
    return method in FROZEN_READOUT


def candidates(method: str, lrs, gains) -> list[tuple[float, float]]:
    """The (learning rate, readout gain) pairs tried for `method`: every lr x every gain for a
    frozen-readout method, every lr at gain 1 for the others."""
    lrs, gains = tuple(lrs), tuple(gains) if searches_gain(method) else (1.0,)
    if not lrs or not gains:
        raise BiaslearnError(f"{method}: expected at least one learning rate and one gain, got {lrs} and {gains}")
    return [(float(lr), float(g)) for g in gains for lr in lrs]


def split_validation(task: Task, fraction: float) -> tuple[Task, Split]:
    """(task with `fraction` of its training samples held out, the held-out validation split);
    the test split is unchanged. The held-out samples depend on the fraction alone."""
    carved = task.with_validation(fraction, generator=rng.generator(0, "validation"))
    return Task(task.name, carved.train, task.test, task.n_classes), carved.test


def best_epoch(history: list[dict], key: str = SCORE) -> dict:
    """The first epoch record with the highest `key` (ties: the earlier epoch)."""
    if not history:
        raise BiaslearnError("best_epoch: expected a non-empty history")
    if key not in history[0]:
        raise BiaslearnError(f"best_epoch: history records have no {key!r}; got {sorted(history[0])}")
    return max(history, key=lambda record: (record[key], -record["epoch"]))


def choose(results: list[dict], key: str = SCORE) -> dict:
    """The result with the highest `key` among candidates (ties: the first in the list)."""
    if not results:
        raise BiaslearnError("choose: expected at least one candidate result")
    return max(results, key=lambda r: r[key])  # max keeps the first of equal maxima
