"""Training recurrent networks on sequences: backpropagation through time with Adam on the method's
parameters, gradient-norm clipping, divergence detection and periodic checkpoints.

The task is an `objective(model, step) -> loss` callable (a scalar tensor) so the same loop serves
autonomous generation, teacher-forced and closed-loop forecasting. Each step is one optimizer
update ("epoch" in the checkpoint means step). With `checkpoint_dir` the state is saved every
`checkpoint_every` steps and at the end; an existing checkpoint is resumed. Divergence (a non-finite
loss or gradient, or a state whose magnitude exceeds `max_state`) raises BiaslearnError *before*
anything is saved, so the last good checkpoint stays on disk.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from biaslearn import config as config_io
from biaslearn.errors import BiaslearnError
from biaslearn.training import checkpoint
from biaslearn.training.methods import Method, get_method


@dataclass(frozen=True)
class SequenceTrainConfig:
    steps: int = 1000  # optimizer updates
    lr: float = 1e-3
    clip: float = 1.0  # max gradient norm; 0 disables clipping
    max_state: float = 1e4  # |objective's reported state| above this is divergence
    checkpoint_every: int = 100
    log_every: int = 10  # history records every this many steps (and the last)
    lr_decay: float = 1.0  # multiply lr by this at the end (exponential schedule); 1 = constant

    def __post_init__(self):
        for name in ("steps", "checkpoint_every", "log_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        for name in ("lr", "max_state", "lr_decay"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise BiaslearnError(f"{name}: expected a positive number, got {v!r}")
        if not (isinstance(self.clip, (int, float)) and self.clip >= 0):
            raise BiaslearnError(f"clip: expected a number >= 0, got {self.clip!r}")


def fingerprint(model: nn.Module, method: Method, config: SequenceTrainConfig, task_key: str) -> dict:
    """Every field that changes a sequence run's result, for checkpoint matching."""
    checksum = model.weights_checksum() if hasattr(model, "weights_checksum") else ""
    return {**{f"config.{k}": v for k, v in config_io.to_dict(config).items()}, "method": method.name, "task": task_key,
            "weights": checksum}


def train_sequence(
    model: nn.Module,
    objective: Callable[[nn.Module, int], torch.Tensor | tuple[torch.Tensor, float]],
    method: str | Method = "bias",
    config: SequenceTrainConfig = SequenceTrainConfig(),
    *,
    task_key: str = "",
    checkpoint_dir: str | Path | None = None,
    on_log: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Minimise `objective` over the method's parameters; returns history records
    {"step", "loss", "seconds"}. `objective` may return (loss, max_abs_state) to enable the
    exploding-state check. `task_key` names the data for checkpoint matching."""
    method = get_method(method) if isinstance(method, str) else method
    params = method.apply(model)
    optimizer = torch.optim.Adam(params, lr=config.lr)
    gamma = config.lr_decay ** (1.0 / config.steps)
    key = fingerprint(model, method, config, task_key)
    history: list[dict] = []
    first = 0
    if checkpoint_dir is not None:
        state = checkpoint.load(checkpoint_dir, fingerprint=key)
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history, first = list(state["history"]), state["epoch"] + 1
    start = time.perf_counter()
    for step in range(first, config.steps):
        for group in optimizer.param_groups:
            group["lr"] = config.lr * gamma**step
        optimizer.zero_grad(set_to_none=True)
        out = objective(model, step)
        loss, peak = out if isinstance(out, tuple) else (out, 0.0)
        value = float(loss.detach())
        if not math.isfinite(value) or not math.isfinite(peak) or peak > config.max_state:
            raise BiaslearnError(
                f"training diverged at step {step} (loss {value:.4g}, max |state| {peak:.4g}); "
                f"lower lr (now {config.lr}) or the weight gain; the last good checkpoint is kept")
        loss.backward()
        norm = _clip(params, config.clip)
        if not math.isfinite(norm):
            raise BiaslearnError(f"training diverged at step {step} (non-finite gradient); lower lr (now {config.lr})")
        optimizer.step()
        last = step == config.steps - 1
        if step % config.log_every == 0 or last:
            record = {"step": step, "loss": value, "seconds": time.perf_counter() - start}
            history.append(record)
            if on_log is not None:
                on_log(record)
        if checkpoint_dir is not None and ((step + 1) % config.checkpoint_every == 0 or last):
            checkpoint.save(checkpoint_dir, model=model, optimizer=optimizer, epoch=step, history=history, fingerprint=key)
    return history


def _clip(params, clip: float) -> float:
    """Scale gradients to total norm <= clip (0: no clipping); returns the norm before scaling.
    The norm is taken in float64: BPTT through a chaotic network can give float32 gradients whose
    squares overflow although every entry is finite."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads))
    if clip > 0 and math.isfinite(norm) and norm > clip:
        for g in grads:
            g.mul_(clip / norm)
    return norm


__all__ = ["SequenceTrainConfig", "train_sequence"]
