"""The centre-out reaching task: targets, trial timing, controller inputs, loss and reach metrics.

A trial of `steps = delay_steps[1] + move_steps` steps of the arm's dt. The hand starts at rest at
the centre (joint angles `centre`); a target at angle θ on a circle of `radius` around it is shown
from the first step; a go cue switches on after a delay drawn uniformly from `delay_steps`
(inclusive); the hand should then move to the target and stop there.

Static inputs per step, (batch, steps, 3): target offset / radius (2, i.e. (cos θ, sin θ)) and the
go cue (0 before, 1 from the go step on). With `feedback`, the controller also receives the hand's
position offset / radius and velocity / `velocity_scale`, `feedback_delay` steps old (4 more
inputs, built in the closed loop: training/closed_loop.py).

Loss (all distances in units of `radius`, so losses are comparable across radii):
    hold      mean over t < go of |hand_t - centre|²            (stay still during the delay)
    position  mean over t >= go + reaction_steps of |hand_t - target|²
    velocity  mean over the last `end_steps` of |hand velocity|² / velocity_scale²
    force     mean over the last `end_steps` of |applied torque|²  (N m)²
    effort    mean over all steps of |command|²
    loss = w_hold hold + position + w_velocity velocity + w_force force + w_effort effort

Metrics: endpoint error = mean distance hand-target over the last `end_steps` (m); lateral
deviation = signed perpendicular distance of the hand from the straight centre-target line at the
moment of largest |deviation| during the movement (m; positive = counter-clockwise of the line).

Perturbation: a curl force field at the hand, F = k [[0, -1], [1, 0]] v (N, v in m/s, k in N s/m):
the force is the hand velocity rotated by +90° (counter-clockwise) and scaled by k.
Randomness (delays) comes only from the `generator` passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from biaslearn.errors import BiaslearnError

STATIC_INPUTS = 3
FEEDBACK_INPUTS = 4


@dataclass(frozen=True)
class ReachSpec:
    radius: float = 0.10  # m
    centre: tuple[float, float] = (math.pi / 4, math.pi / 2)  # shoulder, elbow (rad) at the start
    delay_steps: tuple[int, int] = (10, 30)  # go cue step, drawn uniformly (inclusive)
    move_steps: int = 60  # steps after the latest go cue; trial length = delay_steps[1] + move_steps
    reaction_steps: int = 10  # grace after the go cue before the position loss applies
    end_steps: int = 10  # final window for the velocity/force terms and the endpoint error
    feedback: bool = True
    feedback_delay: int = 5  # steps
    velocity_scale: float = 0.5  # m/s, normalises velocity feedback and loss
    w_hold: float = 1.0
    w_velocity: float = 1.0
    w_force: float = 0.1
    w_effort: float = 1e-3
    input_noise: float = 0.01  # std of additive noise on every input, per step
    motor_noise: float = 0.01  # std of additive noise on the torque command (N m), per step

    def __post_init__(self):
        if not (isinstance(self.radius, (int, float)) and 0 < self.radius <= 0.3):
            raise BiaslearnError(f"radius: expected a reach radius in (0, 0.3] m, got {self.radius!r}")
        lo, hi = self.delay_steps
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
            raise BiaslearnError(f"delay_steps: expected (min, max) ints with 0 <= min <= max, got {self.delay_steps!r}")
        for name in ("move_steps", "end_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        for name in ("reaction_steps", "feedback_delay"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 0:
                raise BiaslearnError(f"{name}: expected an int >= 0, got {v!r}")
        if self.reaction_steps + self.end_steps > self.move_steps:
            raise BiaslearnError(f"move_steps: expected >= reaction_steps + end_steps "
                                 f"({self.reaction_steps + self.end_steps}), got {self.move_steps}")
        for name in ("velocity_scale",):
            if getattr(self, name) <= 0:
                raise BiaslearnError(f"{name}: expected > 0, got {getattr(self, name)!r}")
        for name in ("w_hold", "w_velocity", "w_force", "w_effort", "input_noise", "motor_noise"):
            if getattr(self, name) < 0:
                raise BiaslearnError(f"{name}: expected >= 0, got {getattr(self, name)!r}")

    @property
    def steps(self) -> int:
        return self.delay_steps[1] + self.move_steps

    @property
    def in_features(self) -> int:
        return STATIC_INPUTS + (FEEDBACK_INPUTS if self.feedback else 0)


def ring(n: int, offset_deg: float = 0.0) -> torch.Tensor:
    """n target angles (degrees) evenly spaced from `offset_deg`: ring(8) = 0, 45, ..., 315."""
    if not isinstance(n, int) or n < 1:
        raise BiaslearnError(f"targets: expected a positive int, got {n!r}")
    return torch.arange(n, dtype=torch.float32) * (360.0 / n) + offset_deg


@dataclass
class ReachBatch:
    """angles (batch,) deg; targets (batch, 2) offsets from the centre (m); go (batch,) step of
    the go cue; inputs (batch, steps, 3) static inputs of the module docstring."""

    angles: torch.Tensor
    targets: torch.Tensor
    go: torch.Tensor
    inputs: torch.Tensor

    def __len__(self) -> int:
        return len(self.angles)


def make_batch(spec: ReachSpec, angles: torch.Tensor, *, generator: torch.Generator | None,
               delay: int | None = None) -> ReachBatch:
    """Trials for target `angles` (degrees). Delays are drawn from `generator`, or fixed to
    `delay` (evaluation; default the middle of delay_steps) when `generator` is None."""
    angles = torch.as_tensor(angles, dtype=torch.float32).reshape(-1)
    n = len(angles)
    lo, hi = spec.delay_steps
    if generator is not None:
        go = torch.randint(lo, hi + 1, (n,), generator=generator)
    else:
        go = torch.full((n,), (lo + hi) // 2 if delay is None else delay, dtype=torch.int64)
    rad = torch.deg2rad(angles)
    unit = torch.stack((torch.cos(rad), torch.sin(rad)), 1)
    steps = torch.arange(spec.steps)
    cue = (steps[None, :] >= go[:, None]).to(torch.float32)
    inputs = torch.cat((unit[:, None, :].expand(n, spec.steps, 2), cue[..., None]), 2)
    return ReachBatch(angles, unit * spec.radius, go, inputs)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum().clamp_min(1)


def reach_loss(spec: ReachSpec, batch: ReachBatch, hand: torch.Tensor, velocity: torch.Tensor,
               torque: torch.Tensor, command: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of the module docstring. hand: offsets from the centre (batch, steps, 2) in m;
    velocity (batch, steps, 2) m/s; torque, command (batch, steps, 2) N m."""
    steps = torch.arange(hand.shape[1])[None, :]
    before = (steps < batch.go[:, None]).to(hand.dtype)
    after = (steps >= batch.go[:, None] + spec.reaction_steps).to(hand.dtype)
    end = (steps >= hand.shape[1] - spec.end_steps).to(hand.dtype).expand_as(after)
    scaled = hand / spec.radius
    parts = {
        "hold": _masked_mean((scaled**2).sum(2), before),
        "position": _masked_mean(((scaled - batch.targets[:, None] / spec.radius) ** 2).sum(2), after),
        "velocity": _masked_mean(((velocity / spec.velocity_scale) ** 2).sum(2), end),
        "force": _masked_mean((torque**2).sum(2), end),
        "effort": (command**2).sum(2).mean(),
    }
    loss = (spec.w_hold * parts["hold"] + parts["position"] + spec.w_velocity * parts["velocity"]
            + spec.w_force * parts["force"] + spec.w_effort * parts["effort"])
    return loss, {k: float(v.detach()) for k, v in parts.items()}


def endpoint_error(spec: ReachSpec, batch: ReachBatch, hand: torch.Tensor) -> torch.Tensor:
    """Mean distance (m) between hand and target over the last `end_steps`, per trial (batch,)."""
    return (hand[:, -spec.end_steps:] - batch.targets[:, None]).norm(dim=2).mean(1)


def lateral_deviation(batch: ReachBatch, hand: torch.Tensor) -> torch.Tensor:
    """Signed perpendicular distance (m) from the centre-target line of largest magnitude after
    the go cue, per trial (batch,); positive = counter-clockwise side."""
    direction = batch.targets / batch.targets.norm(dim=1, keepdim=True)
    normal = torch.stack((-direction[:, 1], direction[:, 0]), 1)
    perpendicular = (hand * normal[:, None]).sum(2)
    steps = torch.arange(hand.shape[1])[None, :]
    perpendicular = torch.where(steps >= batch.go[:, None], perpendicular, torch.zeros_like(perpendicular))
    index = perpendicular.abs().argmax(1)
    return perpendicular.gather(1, index[:, None])[:, 0]


def curl_force(velocity: torch.Tensor, strength: float) -> torch.Tensor:
    """F = k [[0, -1], [1, 0]] v for hand velocity v (batch, 2) m/s; k = `strength` N s/m."""
    return strength * torch.stack((-velocity[:, 1], velocity[:, 0]), 1)


__all__ = ["ReachSpec", "ReachBatch", "ring", "make_batch", "reach_loss", "endpoint_error",
           "lateral_deviation", "curl_force", "STATIC_INPUTS", "FEEDBACK_INPUTS"]
