"""The training loop shared by every method: Adam on the method's parameters, one data order per
epoch from the stream "order/<epoch>" (so a resumed run sees the same batches), evaluation on the
task's test split after each epoch, an optional checkpoint per epoch for exact resumption."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from biaslearn import config as config_io
from biaslearn import rng
from biaslearn.data.task import Split, Task
from biaslearn.errors import BiaslearnError
from biaslearn.training import checkpoint
from biaslearn.training.methods import Method, get_method

LOSSES = ("auto", "cross_entropy", "mse")
ENGINES = ("auto", "plain", "fast")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0  # data order; the network's weights have their own seed
    loss: str = "auto"  # cross_entropy for classification tasks, mse for regression
    steepness_final: float = 100.0  # mask learning: final sigmoid steepness
    engine: str = "auto"  # auto: the fast engine where it applies, else the plain loop
    eval_batch_size: int = 4096

    def __post_init__(self):
        for name in ("epochs", "batch_size", "eval_batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise BiaslearnError(f"lr: expected a positive number, got {self.lr!r}")
        if self.loss not in LOSSES:
            raise BiaslearnError(f"loss: unknown {self.loss!r}; valid: {', '.join(LOSSES)}")
        if self.engine not in ENGINES:
            raise BiaslearnError(f"engine: unknown {self.engine!r}; valid: {', '.join(ENGINES)}")


def loss_fn(task: Task, config: TrainConfig) -> Callable:
    kind = config.loss if config.loss != "auto" else ("cross_entropy" if task.n_classes else "mse")
    if kind == "cross_entropy" and not task.n_classes:
        raise BiaslearnError("loss cross_entropy needs a classification task (integer labels)")
    return F.cross_entropy if kind == "cross_entropy" else F.mse_loss


def evaluate(model: nn.Module, split: Split, loss, batch_size: int = 4096) -> dict[str, float]:
    """Mean loss (and accuracy for classification) with the model in eval mode (hard gates)."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(split), batch_size):
            x, y = split.x[start : start + batch_size], split.y[start : start + batch_size]
            out = model(x)
            total_loss += float(loss(out, y, reduction="sum"))
            if split.y.dtype == torch.int64:
                correct += int((out.argmax(1) == y).sum())
    model.train(was_training)
    return split.mean_metrics(total_loss, correct)


def plain_epoch(model, params, optimizer, split: Split, order: torch.Tensor, loss, batch_size: int) -> float:
    """One epoch of the obvious autograd loop; returns the mean training loss over batches."""
    model.train()
    total, batches = 0.0, 0
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        value = loss(model(split.x[index]), split.y[index])
        value.backward()
        optimizer.step()
        total += value.item()
        batches += 1
    return total / max(1, batches)


def run_fingerprint(model: nn.Module, task: Task, method: Method, config: TrainConfig) -> dict:
    """Identifies a training run for checkpoint matching: every field that changes its result
    (the training config, the method, the task's name and sizes, the frozen weights)."""
    from biaslearn.models.feedforward import weights_checksum

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return {
        **{f"config.{k}": v for k, v in config_io.to_dict(config).items()},
        "method": method.name,
        "task": task.name,
        "task.sizes": [len(task.train), len(task.test), task.in_features, task.n_classes],
        "weights": weights_checksum(linears) if linears else "",
    }


def train(
    model: nn.Module,
    task: Task,
    method: str | Method = "bias",
    config: TrainConfig = TrainConfig(),
    *,
    checkpoint_dir: str | Path | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    epoch_runner=None,
    extra_splits: dict[str, Split] | None = None,
) -> list[dict]:
    """Train `model` on `task` with `method`; returns the history (one dict per epoch).

    With `checkpoint_dir`, state is saved after each epoch and an existing checkpoint is resumed,
    giving the same history as an uninterrupted run. `epoch_runner` replaces `plain_epoch`
    (the fast engine plugs in here); by default `config.engine` picks it. A runner with an
    `evaluate(model, split, loss, batch_size)` method also evaluates the test split.
    `extra_splits` ({"validation": split}, say) are evaluated after each epoch too, recorded as
    "<name>_loss" and "<name>_accuracy". `train_epochs` is the same, one epoch at a time."""
    epochs = train_epochs(model, task, method, config, checkpoint_dir=checkpoint_dir, on_epoch=on_epoch,
                          epoch_runner=epoch_runner, extra_splits=extra_splits)
    return list(epochs)


def train_epochs(
    model: nn.Module,
    task: Task,
    method: str | Method = "bias",
    config: TrainConfig = TrainConfig(),
    *,
    checkpoint_dir: str | Path | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    epoch_runner=None,
    extra_splits: dict[str, Split] | None = None,
) -> Iterator[dict]:
    """`train` as a generator: yields the history's records one by one (those resumed from a
    checkpoint first), each new epoch's as soon as it is trained, evaluated and checkpointed, so
    a caller can interleave the epochs of several runs or stop early."""
    method = get_method(method) if isinstance(method, str) else method
    loss = loss_fn(task, config)
    params = method.apply(model)
    optimizer = torch.optim.Adam(params, lr=config.lr)
    if epoch_runner is None:
        epoch_runner = _choose_runner(model, task, method, config)
    history: list[dict] = []
    first_epoch = 0
    fingerprint = run_fingerprint(model, task, method, config)
    if checkpoint_dir is not None:
        state = checkpoint.load(checkpoint_dir, fingerprint=fingerprint)
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history, first_epoch = list(state["history"]), state["epoch"] + 1
    yield from history
    for epoch in range(first_epoch, config.epochs):
        method.on_epoch_start(model, epoch, config.epochs, config.steepness_final)
        order = torch.randperm(len(task.train), generator=rng.generator(config.seed, f"order/{epoch}"))
        start = time.perf_counter()
        train_loss = epoch_runner(model, params, optimizer, task.train, order, loss, config.batch_size)
        seconds = time.perf_counter() - start
        if not torch.isfinite(torch.tensor(train_loss)):
            raise BiaslearnError(f"training diverged at epoch {epoch} (loss {train_loss}); lower lr (now {config.lr})")
        record = {"epoch": epoch, "train_loss": train_loss, "seconds": seconds}
        evaluator = getattr(epoch_runner, "evaluate", evaluate)  # the engine evaluates from its cached rows
        record.update({f"test_{k}": v for k, v in evaluator(model, task.test, loss, config.eval_batch_size).items()})
        for name, split in (extra_splits or {}).items():
            record.update({f"{name}_{k}": v for k, v in evaluator(model, split, loss, config.eval_batch_size).items()})
        history.append(record)
        if checkpoint_dir is not None:
            checkpoint.save(checkpoint_dir, model=model, optimizer=optimizer, epoch=epoch, history=history, fingerprint=fingerprint)
        if on_epoch is not None:
            on_epoch(record)
        yield record


def _choose_runner(model, task, method, config):
    if config.engine == "plain":
        return plain_epoch
    try:
        from biaslearn.engine import select_runner
    except ImportError:
        if config.engine == "fast":
            raise BiaslearnError("engine 'fast' is not available in this build; use engine=plain") from None
        return plain_epoch
    runner = select_runner(model, task, method, config)
    if runner is None:
        if config.engine == "fast":
            raise BiaslearnError(f"engine 'fast' does not apply to method {method.name!r} on this model; use engine=auto")
        return plain_epoch
    return runner
