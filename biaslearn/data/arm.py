"""A planar two-joint arm (shoulder, elbow) in the horizontal plane: the plant of the reaching task.

Why here (data/) and not models/: the arm holds no learned parameters; it is the task's
environment, a differentiable dynamical system like the other systems data/ generates, and the
task needs its kinematics (start posture, targets in hand space). data/ and models/ never import
each other, so the controller (models/) and the plant meet only in training/closed_loop.py.

Rigid-body dynamics (no gravity: the arm moves in the horizontal plane), joint angles
q = (shoulder, elbow) in rad, shapes (batch, 2):

    M(q) q'' + C(q, q') q' + B q' = τ + J(q)ᵀ F_ext + τ_limit(q, q')

    M11 = I1 + I2 + m1 lc1² + m2 (l1² + lc2² + 2 l1 lc2 cos q2)
    M12 = M21 = I2 + m2 (lc2² + l1 lc2 cos q2),   M22 = I2 + m2 lc2²
    C(q, q') q' = h (-q2' (2 q1' + q2'),  q1'²),   h = m2 l1 lc2 sin q2
    B = [[b11, b12], [b12, b22]] joint viscosity (N m s / rad)

I1, I2 are moments of inertia about each segment's centre of mass. Default parameters are of
the human-arm values used in the optimal-control literature (e.g. Li & Todorov 2004):
m = (1.4, 1.1) kg, l = (0.30, 0.33) m, lc = (0.11, 0.16) m, I = (0.025, 0.045) kg m²,
B = [[0.05, 0.025], [0.025, 0.05]] (we read the inertias as about the centres of mass).

Muscle-like activation (optional, `activation_ms` > 0): the applied torque τ follows the command u
through a first-order low-pass, τ' = (u - τ) / T_act, stepped exactly for constant u over a step.

Integration with step `dt` (default 10 ms), either
  "euler": semi-implicit (symplectic) Euler, v <- v + dt a(q, v); q <- q + dt v (cheap; default);
  "rk4":   classic 4th-order Runge-Kutta on (q, q') with τ held over the step (used by the tests
           that check energy conservation to integrator tolerance).
Every operation is a torch op, so gradients flow through whole trajectories.

Joint limits: a stiff, damped spring torque acts outside [lo, hi] for each joint (differentiable,
unlike clamping). The reachable workspace of the hand is the annulus |l1 - l2| <= r <= l1 + l2
(for the full elbow range), narrowed by the limits.

Forward kinematics: hand = (l1 cos q1 + l2 cos(q1+q2), l1 sin q1 + l2 sin(q1+q2)), velocity J q'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

from biaslearn.errors import BiaslearnError

INTEGRATORS = ("euler", "rk4")


@dataclass(frozen=True)
class ArmSpec:
    masses: tuple[float, float] = (1.4, 1.1)  # kg
    lengths: tuple[float, float] = (0.30, 0.33)  # m
    com: tuple[float, float] = (0.11, 0.16)  # m, joint to centre of mass
    inertia: tuple[float, float] = (0.025, 0.045)  # kg m², about the centre of mass
    viscosity: tuple[float, float, float] = (0.05, 0.025, 0.05)  # b11, b12, b22 (N m s / rad)
    dt: float = 0.01  # s
    integrator: str = "euler"
    activation_ms: float = 50.0  # first-order torque activation time constant; 0 = direct torque
    shoulder_limits: tuple[float, float] = (-math.pi / 2, math.pi)  # rad
    elbow_limits: tuple[float, float] = (0.0, 0.9 * math.pi)  # rad
    limit_stiffness: float = 50.0  # N m / rad beyond a limit (0 = no limits)

    def __post_init__(self):
        for name in ("masses", "lengths", "com", "inertia"):
            v = getattr(self, name)
            if len(v) != 2 or not all(isinstance(x, (int, float)) and x > 0 for x in v):
                raise BiaslearnError(f"arm {name}: expected two positive numbers, got {v!r}")
        b11, b12, b22 = self.viscosity
        if b11 < 0 or b22 < 0 or b11 * b22 < b12 * b12:
            raise BiaslearnError(f"arm viscosity: expected a positive semi-definite (b11, b12, b22), got {self.viscosity!r}")
        if not (isinstance(self.dt, (int, float)) and 0 < self.dt <= 0.05):
            raise BiaslearnError(f"arm dt: expected a step in (0, 0.05] s, got {self.dt!r}")
        if self.integrator not in INTEGRATORS:
            raise BiaslearnError(f"arm integrator: unknown {self.integrator!r}; valid: {', '.join(INTEGRATORS)}")
        if self.activation_ms < 0:
            raise BiaslearnError(f"arm activation_ms: expected >= 0, got {self.activation_ms!r}")
        for name in ("shoulder_limits", "elbow_limits"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise BiaslearnError(f"arm {name}: expected (low, high) with low < high, got {(lo, hi)!r}")
        if self.limit_stiffness < 0:
            raise BiaslearnError(f"arm limit_stiffness: expected >= 0, got {self.limit_stiffness!r}")


class ArmState(NamedTuple):
    """Joint angles q, velocities qd and applied torque tau, each (batch, 2)."""

    q: torch.Tensor
    qd: torch.Tensor
    tau: torch.Tensor


class TwoJointArm:
    """The arm of the module docstring. Stateless: `step` maps an ArmState to the next one."""

    def __init__(self, spec: ArmSpec = ArmSpec()):
        self.spec = spec
        (m1, m2), (l1, l2), (c1, c2), (i1, i2) = spec.masses, spec.lengths, spec.com, spec.inertia
        self.a1 = i1 + i2 + m1 * c1**2 + m2 * (l1**2 + c2**2)  # constant part of M11
        self.a2 = m2 * l1 * c2  # coefficient of cos q2 (and of sin q2 in h)
        self.a3 = i2 + m2 * c2**2  # M22
        self.l1, self.l2 = l1, l2
        b11, b12, b22 = spec.viscosity
        self.viscosity = torch.tensor([[b11, b12], [b12, b22]], dtype=torch.float32)
        self.lo = torch.tensor([spec.shoulder_limits[0], spec.elbow_limits[0]], dtype=torch.float32)
        self.hi = torch.tensor([spec.shoulder_limits[1], spec.elbow_limits[1]], dtype=torch.float32)
        self.decay = math.exp(-spec.dt * 1000.0 / spec.activation_ms) if spec.activation_ms > 0 else 0.0

    # ---------------------------------------------------------------------------- kinematics
    def hand(self, q: torch.Tensor) -> torch.Tensor:
        """Hand position (batch, 2) in metres, shoulder at the origin."""
        q1, q12 = q[:, 0], q[:, 0] + q[:, 1]
        return torch.stack((self.l1 * torch.cos(q1) + self.l2 * torch.cos(q12),
                            self.l1 * torch.sin(q1) + self.l2 * torch.sin(q12)), 1)

    def jacobian(self, q: torch.Tensor) -> torch.Tensor:
        """d hand / d q, (batch, 2, 2)."""
        q1, q12 = q[:, 0], q[:, 0] + q[:, 1]
        s1, c1, s12, c12 = torch.sin(q1), torch.cos(q1), torch.sin(q12), torch.cos(q12)
        row_x = torch.stack((-self.l1 * s1 - self.l2 * s12, -self.l2 * s12), 1)
        row_y = torch.stack((self.l1 * c1 + self.l2 * c12, self.l2 * c12), 1)
        return torch.stack((row_x, row_y), 1)

    def hand_velocity(self, q: torch.Tensor, qd: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bij,bj->bi", self.jacobian(q), qd)

    def hand_state(self, q: torch.Tensor, qd: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hand position and velocity (batch, 2) each, sharing the trigonometry (the closed loop's
        per-step call)."""
        q1, q12 = q[:, 0], q[:, 0] + q[:, 1]
        c1, s1, c12, s12 = torch.cos(q1), torch.sin(q1), torch.cos(q12), torch.sin(q12)
        x2, y2 = self.l2 * c12, self.l2 * s12
        x, y = self.l1 * c1 + x2, self.l1 * s1 + y2
        w12 = qd[:, 0] + qd[:, 1]
        vx = -self.l1 * s1 * qd[:, 0] - y2 * w12
        vy = self.l1 * c1 * qd[:, 0] + x2 * w12
        return torch.stack((x, y), 1), torch.stack((vx, vy), 1)

    def inverse_kinematics(self, xy: torch.Tensor) -> torch.Tensor:
        """Joint angles (batch, 2) with the elbow flexed (q2 >= 0) that put the hand at xy (batch, 2)."""
        r2 = (xy**2).sum(1)
        cos_q2 = (r2 - self.l1**2 - self.l2**2) / (2 * self.l1 * self.l2)
        if bool((cos_q2.abs() > 1).any()):
            raise BiaslearnError(f"inverse kinematics: a point lies outside the workspace annulus "
                                 f"[{abs(self.l1 - self.l2):.3f}, {self.l1 + self.l2:.3f}] m")
        q2 = torch.acos(cos_q2)
        q1 = torch.atan2(xy[:, 1], xy[:, 0]) - torch.atan2(self.l2 * torch.sin(q2), self.l1 + self.l2 * torch.cos(q2))
        return torch.stack((q1, q2), 1)

    def workspace(self) -> tuple[float, float]:
        """Inner and outer radius of the hand's annulus for the full elbow range."""
        return abs(self.l1 - self.l2), self.l1 + self.l2

    # ------------------------------------------------------------------------------ dynamics
    def mass_matrix(self, q: torch.Tensor) -> torch.Tensor:
        """M(q), (batch, 2, 2)."""
        c2 = torch.cos(q[:, 1])
        m11 = self.a1 + 2 * self.a2 * c2
        m12 = self.a3 + self.a2 * c2
        m22 = torch.full_like(c2, self.a3)
        return torch.stack((torch.stack((m11, m12), 1), torch.stack((m12, m22), 1)), 1)

    def energy(self, state: ArmState) -> torch.Tensor:
        """Kinetic energy ½ q'ᵀ M q' (batch,) in joules (the only energy: no gravity, no springs
        inside the limits)."""
        return 0.5 * torch.einsum("bi,bij,bj->b", state.qd, self.mass_matrix(state.q), state.qd)

    def limit_torque(self, q: torch.Tensor, qd: torch.Tensor) -> torch.Tensor:
        k = self.spec.limit_stiffness
        if k == 0:
            return torch.zeros_like(q)
        below, above = torch.relu(self.lo - q), torch.relu(q - self.hi)
        outside = ((below > 0) | (above > 0)).to(q.dtype)
        return k * (below - above) - 0.02 * k * outside * qd  # damped, so a limit absorbs energy

    def acceleration(self, q: torch.Tensor, qd: torch.Tensor, torque: torch.Tensor) -> torch.Tensor:
        """q'' = M⁻¹ (τ - C q' - B q' + τ_limit); `torque` includes any external J^T F."""
        c2, s2 = torch.cos(q[:, 1]), torch.sin(q[:, 1])
        m11 = self.a1 + 2 * self.a2 * c2
        m12 = self.a3 + self.a2 * c2
        m22 = self.a3
        h = self.a2 * s2
        v1, v2 = qd[:, 0], qd[:, 1]
        rhs = torque - qd @ self.viscosity.T + self.limit_torque(q, qd)
        r1 = rhs[:, 0] + h * v2 * (2 * v1 + v2)
        r2 = rhs[:, 1] - h * v1 * v1
        det = m11 * m22 - m12 * m12  # > 0: M is positive definite
        return torch.stack(((m22 * r1 - m12 * r2) / det, (m11 * r2 - m12 * r1) / det), 1)

    def external_torque(self, q: torch.Tensor, force: torch.Tensor) -> torch.Tensor:
        """Joint torque J(q)ᵀ F of a force F (batch, 2) in newtons applied at the hand."""
        return torch.einsum("bji,bj->bi", self.jacobian(q), force)

    def step(self, state: ArmState, command: torch.Tensor, force: torch.Tensor | None = None) -> ArmState:
        """Advance one step of `spec.dt` under torque command u (batch, 2) in N m and an optional
        hand force F (batch, 2) in N, held constant over the step."""
        dt = self.spec.dt
        tau = command if self.decay == 0 else self.decay * state.tau + (1 - self.decay) * command
        drive = tau if force is None else tau + self.external_torque(state.q, force)
        q, qd = state.q, state.qd
        if self.spec.integrator == "euler":
            qd = qd + dt * self.acceleration(q, qd, drive)
            return ArmState(q + dt * qd, qd, tau)
        k1q, k1v = qd, self.acceleration(q, qd, drive)
        k2q, k2v = qd + 0.5 * dt * k1v, self.acceleration(q + 0.5 * dt * k1q, qd + 0.5 * dt * k1v, drive)
        k3q, k3v = qd + 0.5 * dt * k2v, self.acceleration(q + 0.5 * dt * k2q, qd + 0.5 * dt * k2v, drive)
        k4q, k4v = qd + dt * k3v, self.acceleration(q + dt * k3q, qd + dt * k3v, drive)
        return ArmState(q + dt / 6 * (k1q + 2 * k2q + 2 * k3q + k4q), qd + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v), tau)

    def rest(self, q: torch.Tensor) -> ArmState:
        """The arm at rest at angles q (batch, 2), no torque."""
        return ArmState(q, torch.zeros_like(q), torch.zeros_like(q))

    def simulate(self, state: ArmState, commands: torch.Tensor) -> list[ArmState]:
        """States after each of the commands (batch, time, 2)."""
        out = []
        for t in range(commands.shape[1]):
            state = self.step(state, commands[:, t])
            out.append(state)
        return out


__all__ = ["ArmSpec", "ArmState", "TwoJointArm", "INTEGRATORS"]
