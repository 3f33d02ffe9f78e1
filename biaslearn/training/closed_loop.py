"""Closed-loop control: an RNN controller drives the differentiable arm; training through the plant.

Per step t = 0..T-1 of a trial (shapes (batch, ·)):

    x_t   = [static inputs_t, hand feedback_{t - d}] + input noise     (feedback of the state
            `feedback_delay` = d steps old: position offset / radius, velocity / velocity_scale)
    r_t+1 = (1 - α) r_t + β φ(W r_t + B x_t + b)                       (RecurrentNet.step)
    u_t   = torque_gain · (C r_t+1 + c) + motor noise                  (torque command, N m)
    arm_t+1 = arm.step(arm_t, u_t, F_t),  F_t = curl field(hand velocity_t)

The controller is biaslearn.models.recurrent.RecurrentNet; which of its tensors learn is the
training method's business (bias / full / readout by role). One "epoch" here is one Adam step on
a fresh batch of trials (`batch_size` trials cycling over the training targets, delays and noise
from the stream "reaching/epoch/<n>"); gradients are clipped to norm `clip` because they flow
back through the whole trajectory. Every `eval_every` epochs the noise-free endpoint error on the
training targets is measured; the first evaluated epoch whose error is below `criterion` (m) is
the method's epochs-to-criterion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from biaslearn import rng
from biaslearn.data.arm import TwoJointArm
from biaslearn.data.reaching import ReachBatch, ReachSpec, curl_force, endpoint_error, lateral_deviation, make_batch, reach_loss
from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import RecurrentNet
from biaslearn.training.methods import Method, get_method


@dataclass
class Rollout:
    """hand offsets from the centre, hand velocity, applied torque, command: (batch, steps, 2)."""

    hand: torch.Tensor
    velocity: torch.Tensor
    torque: torch.Tensor
    command: torch.Tensor


def rollout(net: RecurrentNet, arm: TwoJointArm, spec: ReachSpec, batch: ReachBatch, *, torque_gain: float = 1.0,
            field: float = 0.0, generator: torch.Generator | None = None) -> Rollout:
    """Run the closed loop over a batch. Noise (spec.input_noise, spec.motor_noise) is drawn from
    `generator`; with generator=None the run is noise-free."""
    if net.spec.in_features != spec.in_features:
        raise BiaslearnError(f"controller: expected in_features {spec.in_features} for this task, got {net.spec.in_features}")
    n, steps = len(batch), spec.steps
    q0 = torch.tensor(spec.centre, dtype=torch.float32).expand(n, 2)
    centre = arm.hand(q0[:1])
    state = arm.rest(q0)
    r = net.initial(n)
    static = torch.matmul(batch.inputs, net.B[:, : batch.inputs.shape[2]].T) + net.b  # (batch, steps, units)
    B_feedback = net.B[:, batch.inputs.shape[2]:]
    noisy = generator is not None
    if noisy and spec.input_noise > 0:
        static = static + torch.matmul(torch.randn(n, steps, spec.in_features, generator=generator) * spec.input_noise, net.B.T)
    zero = torch.zeros(n, 2)
    history = [(zero, zero)]  # hand feedback (offset, velocity) at steps 0, 1, ...
    hands, velocities, torques, commands = [], [], [], []
    velocity = zero
    for t in range(steps):
        drive = static[:, t]
        if spec.feedback:
            pos, vel = history[max(0, len(history) - 1 - spec.feedback_delay)]
            drive = drive + torch.matmul(torch.cat((pos / spec.radius, vel / spec.velocity_scale), 1), B_feedback.T)
        r = net.step(r, drive)
        command = torque_gain * net.readout(r)
        if noisy and spec.motor_noise > 0:
            command = command + torch.randn(n, 2, generator=generator) * spec.motor_noise
        force = curl_force(velocity, field) if field else None
        state = arm.step(state, command, force)
        hand, velocity = arm.hand_state(state.q, state.qd)
        hand = hand - centre
        history.append((hand, velocity))
        hands.append(hand), velocities.append(velocity), torques.append(state.tau), commands.append(command)
    stack = lambda xs: torch.stack(xs, 1)  # noqa: E731
    return Rollout(stack(hands), stack(velocities), stack(torques), stack(commands))


@dataclass(frozen=True)
class ReachTraining:
    epochs: int = 1000
    lr: float = 1e-3
    batch_size: int = 32
    clip: float = 1.0
    eval_every: int = 10
    criterion: float = 0.01  # m: endpoint error on the training targets that counts as learned
    torque_gain: float = 1.0
    field: float = 0.0  # curl field strength during training (N s/m)
    seed: int = 0  # batches and noise; the controller's weights have their own seed

    def __post_init__(self):
        for name in ("epochs", "batch_size", "eval_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        for name in ("lr", "clip", "criterion", "torque_gain"):
            if not getattr(self, name) > 0:
                raise BiaslearnError(f"{name}: expected a positive number, got {getattr(self, name)!r}")


def evaluate(net: RecurrentNet, arm: TwoJointArm, spec: ReachSpec, angles: torch.Tensor, *, torque_gain: float,
             field: float = 0.0) -> dict:
    """Noise-free reaches to `angles` (degrees) with the middle delay: per-target endpoint error
    and lateral deviation (m) and the trajectories."""
    batch = make_batch(spec, angles, generator=None)
    with torch.no_grad():
        out = rollout(net, arm, spec, batch, torque_gain=torque_gain, field=field)
    return {"error": endpoint_error(spec, batch, out.hand), "lateral": lateral_deviation(batch, out.hand),
            "hand": out.hand, "batch": batch}


def train_reaching(net: RecurrentNet, arm: TwoJointArm, spec: ReachSpec, method: str | Method, config: ReachTraining,
                   train_angles: torch.Tensor, *, stream: str = "reaching",
                   on_eval: Callable[[dict], None] | None = None) -> list[dict]:
    """Adam on the method's parameters; returns one record per evaluation:
    {epoch, loss (mean since the last evaluation), error (m), lateral (mean |.|, m), seconds}."""
    method = get_method(method) if isinstance(method, str) else method
    params = method.apply(net)
    optimizer = torch.optim.Adam(params, lr=config.lr)
    train_angles = torch.as_tensor(train_angles, dtype=torch.float32)
    index = torch.arange(config.batch_size) % len(train_angles)
    history, losses, start = [], [], time.perf_counter()

    def record(epoch: int) -> None:
        result = evaluate(net, arm, spec, train_angles, torque_gain=config.torque_gain, field=config.field)
        row = {"epoch": epoch, "loss": sum(losses) / len(losses) if losses else float("nan"),
               "error": float(result["error"].mean()), "lateral": float(result["lateral"].abs().mean()),
               "signed_lateral": float(result["lateral"].mean()), "seconds": time.perf_counter() - start}
        history.append(row)
        losses.clear()
        if on_eval is not None:
            on_eval(row)

    record(0)
    for epoch in range(1, config.epochs + 1):
        generator = rng.generator(config.seed, f"{stream}/epoch/{epoch}")
        batch = make_batch(spec, train_angles[index], generator=generator)
        out = rollout(net, arm, spec, batch, torque_gain=config.torque_gain, field=config.field, generator=generator)
        loss, _ = reach_loss(spec, batch, out.hand, out.velocity, out.torque, out.command)
        if not torch.isfinite(loss):
            raise BiaslearnError(f"reaching: training diverged at epoch {epoch}; lower lr (now {config.lr})")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.clip)
        optimizer.step()
        losses.append(float(loss.detach()))
        if epoch % config.eval_every == 0 or epoch == config.epochs:
            record(epoch)
    return history


def epochs_to_criterion(history: list[dict], criterion: float) -> int | None:
    """First evaluated epoch whose endpoint error is below `criterion`; None if never."""
    for row in history:
        if row["error"] < criterion:
            return row["epoch"]
    return None


__all__ = ["Rollout", "rollout", "ReachTraining", "evaluate", "train_reaching", "epochs_to_criterion"]
