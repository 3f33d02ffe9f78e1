"""Forecasting a time series with a RecurrentNet (in_features == out_features == dim): windows,
the teacher-forced and closed-loop training objectives, and closed-loop forecasts for evaluation.

A window starting at s is series[s : s + warmup + horizon + 1] (steps, dim). Inputs x_t = u_{s+t};
the net's output after reading x_t predicts u_{s+t+1}.

- "teacher" (teacher-forced, the paper's "standard"): the net reads the true signal over the whole
  window; loss = MSE of the one-step predictions over all steps after `washout`.
- "closed" (closed-loop, the paper's "self-sustained"): the net reads the true signal for `warmup`
  steps, then its own output for `horizon` steps (BPTT through the feedback); loss = MSE over the
  teacher-forced warmup predictions after `washout` plus the closed-loop predictions (equal weight
  per step).
"""

from __future__ import annotations

import numpy as np
import torch

from biaslearn.errors import BiaslearnError

MODES = ("teacher", "closed")


def windows(series: torch.Tensor, starts, length: int) -> torch.Tensor:
    """(batch, length, dim) slices of `series` (time, dim) at `starts`."""
    index = torch.as_tensor(starts, dtype=torch.long)[:, None] + torch.arange(length)[None, :]
    if int(index.max()) >= len(series):
        raise BiaslearnError(f"windows: a window runs past the series end ({len(series)} steps)")
    return series[index]


def forecast_loss(net, batch: torch.Tensor, *, mode: str, warmup: int, horizon: int, washout: int = 0):
    """(loss, max |state|) for windows `batch` (batch, warmup + horizon + 1, dim)."""
    if mode not in MODES:
        raise BiaslearnError(f"mode: unknown {mode!r}; valid: {', '.join(MODES)}")
    if mode == "teacher":
        states = net.run(batch[:, :-1])
        pred = net.readout(states)
        loss = torch.mean((pred[:, washout:] - batch[:, 1 + washout:]) ** 2)
        return loss, float(states.detach().abs().max())
    states = net.run(batch[:, :warmup])
    pred = net.readout(states)
    free, free_states = net.closed_loop_from(states[:, -1], horizon)
    pred_all = torch.cat([pred[:, washout:], free[:, 1:]], 1)
    truth = batch[:, 1 + washout: warmup + horizon]
    loss = torch.mean((pred_all - truth) ** 2)
    return loss, float(max(states.detach().abs().max(), free_states.detach().abs().max()))


def sampler(series: torch.Tensor, length: int, batch_size: int, seed: int, stream: str):
    """step -> (batch_size, length, dim) windows at random starts drawn from (seed, stream/step)."""
    from biaslearn import rng

    high = len(series) - length
    if high < 1:
        raise BiaslearnError(f"series of {len(series)} steps is too short for windows of {length}")

    def draw(step: int) -> torch.Tensor:
        starts = torch.randint(0, high, (batch_size,), generator=rng.generator(seed, f"{stream}/{step}"))
        return windows(series, starts, length)

    return draw


@torch.no_grad()
def closed_loop_forecasts(net, series: torch.Tensor, starts, *, warmup: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Forecasts and truth (batch, horizon, dim): teacher-forced over series[s : s+warmup], then
    free-running; forecast[:, 0] predicts series[s + warmup]."""
    batch = windows(series, starts, warmup + horizon)
    pred = net.closed_loop(batch[:, :warmup], horizon)
    return pred.numpy(), batch[:, warmup:].numpy()


@torch.no_grad()
def teacher_forced_predictions(net, series: torch.Tensor, *, washout: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """One-step predictions along the whole series (reads the truth): (time - 1 - washout, dim) each."""
    states = net.run(series[None, :-1])
    pred = net.readout(states)[0, washout:]
    return pred.numpy(), series[1 + washout:].numpy()


__all__ = ["windows", "forecast_loss", "sampler", "closed_loop_forecasts", "teacher_forced_predictions", "MODES"]
