"""Rate RNN with frozen random weights and learned biases (Theorem 2 of Williams et al., ICLR 2025).

Update equation, for t = 1..T, inputs x_0..x_{T-1} of shape (batch, time, in_features):

    r_t = (1 - α) r_{t-1} + β φ(W r_{t-1} + B x_{t-1} + b)        states   (batch, time, units)
    y_t = C r_t + c                                                outputs  (batch, time, out_features)

α = 1, β = 1 is the plain discrete RNN (`torch.nn.RNN` with tanh, our default); α = β = Δt/τ is an
Euler step of the rate network τ dr/dt = -r + φ(W r + B x + b). (PAPER.md's summary says "α = 0,
β = 1: plain RNN", which does not match the equation as written: with α = 0 the update is
r_{t-1} + φ(...). We implement the equation literally and take α = 1 for the plain RNN.) Output index t of `forward` is y_{t+1}: the prediction made after
reading x_t, as in `torch.nn.RNN`.

Frozen random tensors, each from its own named stream under `spec.seed`:
  W "recurrent" (units, units): `recurrent="gaussian:g"` is N(0, g²/units) (gain g); any
    WeightDistribution works, e.g. "uniform:0.1";
  B "input" (units, in_features);  C "readout" (out_features, units);
  A "initial_map" (units, init_features) when `initial_state="map"`.
Learned by the bias method: b, c and the initial state. Initial state options:
  "learned": one vector r_0 (units,), shared by every sequence;
  "zeros": r_0 = 0, nothing learned;
  "map": r_0 = tanh(A z + a) for the system's initial condition z (batch, init_features), with A a
    frozen random matrix and a learned offset. Theorem 2 asks for *some* continuous map z -> r_0; we
    take the bias-learning version of it (frozen random projection, learned offset), so the map's
    weight A has role "weight" (trained only by `full`) and a has role "initial_state".

Roles (see `biaslearn.models.roles`): weight = [W, B, (A)], bias = [b], readout_weight = [C],
readout_bias = [c], initial_state = [r_0] or [a]. The model never decides what trains.

Speed: B x is one batched matmul for the whole sequence before the time loop (the input projection
is fixed, so nothing per step depends on B); with W frozen autograd computes no weight gradients.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
from torch import nn

from biaslearn import rng
from biaslearn.errors import BiaslearnError, check_finite
from biaslearn.memory import check_fits
from biaslearn.models.activations import ACTIVATIONS, make_activation
from biaslearn.models.init import WeightDistribution

INITIAL_STATES = ("learned", "zeros", "map")
BIAS_INITS = ("zeros", "uniform")


def _nonneg_int(name: str, v, minimum: int = 0) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
        raise BiaslearnError(f"{name}: expected an int >= {minimum}, got {v!r}")


@dataclass(frozen=True)
class RecurrentSpec:
    """Everything that determines the frozen weights and initial learned values of a RecurrentNet."""

    in_features: int  # 0: autonomous network (no input)
    units: int
    out_features: int
    seed: int = 0
    activation: str = "tanh"
    alpha: float = 1.0  # r_t = (1-α) r_{t-1} + β φ(...); 1 = plain RNN
    beta: float = 1.0  # Euler step
    recurrent: str = "gaussian:1.0"  # W; "gaussian:g" is N(0, g²/units)
    input: str = "uniform:1.0"  # B
    readout: str = "uniform_fan_in:1.0"  # C
    bias_init: str = "zeros"  # zeros | uniform: U[-1, 1]
    initial_state: str = "learned"  # learned | zeros | map
    init_features: int = 0  # dimension of the system initial condition for initial_state="map"
    initial_map: str = "gaussian:1.0"  # A (units, init_features) for initial_state="map"
    initial_init: str = "uniform"  # starting value of the learned r_0 (or a): zeros | uniform U[-1, 1]

    def __post_init__(self):
        _nonneg_int("in_features", self.in_features, 0)
        _nonneg_int("units", self.units, 1)
        _nonneg_int("out_features", self.out_features, 1)
        _nonneg_int("seed", self.seed, 0)
        _nonneg_int("init_features", self.init_features, 0)
        if self.activation not in ACTIVATIONS:
            raise BiaslearnError(f"activation: unknown name {self.activation!r}; valid: {', '.join(ACTIVATIONS)}")
        for name in ("alpha", "beta"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise BiaslearnError(f"{name}: expected a finite number, got {v!r}")
        if not 0 <= self.alpha <= 1:
            raise BiaslearnError(f"alpha: expected a leak in [0, 1], got {self.alpha!r}")
        for name in ("recurrent", "input", "readout", "initial_map"):
            WeightDistribution.parse(getattr(self, name))
        if self.bias_init not in BIAS_INITS:
            raise BiaslearnError(f"bias_init: unknown {self.bias_init!r}; valid: {', '.join(BIAS_INITS)}")
        if self.initial_state not in INITIAL_STATES:
            raise BiaslearnError(f"initial_state: unknown {self.initial_state!r}; valid: {', '.join(INITIAL_STATES)}")
        if self.initial_init not in BIAS_INITS:
            raise BiaslearnError(f"initial_init: unknown {self.initial_init!r}; valid: {', '.join(BIAS_INITS)}")
        if self.initial_state == "map" and self.init_features < 1:
            raise BiaslearnError("init_features: initial_state='map' needs init_features >= 1 (the system's state size)")


def _frozen(dist: str, shape: tuple[int, int], seed: int, stream: str) -> nn.Parameter:
    fan_in = max(1, shape[1])
    w = WeightDistribution.parse(dist).sample(shape, fan_in, generator=rng.generator(seed, stream))
    return nn.Parameter(w)


class RecurrentNet(nn.Module):
    """The rate RNN of the module docstring. Parameters: `W`, `B`, `b`, `C`, `c`, and `r0` (initial
    state "learned") or `A`, `a` (initial state "map")."""

    def __init__(self, spec: RecurrentSpec):
        super().__init__()
        self.spec = spec
        n = spec.units
        values = n * (n + spec.in_features + spec.out_features + 2)
        check_fits(4 * values, f"a recurrent network of {n:,} units ({values:,} float32 parameters)")
        self.W = _frozen(spec.recurrent, (n, n), spec.seed, "recurrent")
        self.B = _frozen(spec.input, (n, spec.in_features), spec.seed, "input")
        self.C = _frozen(spec.readout, (spec.out_features, n), spec.seed, "readout")
        if spec.bias_init == "zeros":
            b = torch.zeros(n)
        else:
            b = torch.rand(n, generator=rng.generator(spec.seed, "bias")) * 2 - 1
        self.b = nn.Parameter(b)
        self.c = nn.Parameter(torch.zeros(spec.out_features))
        # a random start for r_0: with b = 0 and r_0 = 0 the network sits on its fixed point 0, which
        # is unstable for gain > 1, and BPTT gradients grow like g^T (overflow at T ~ 200)
        if spec.initial_init == "zeros":
            start = torch.zeros(n)
        else:
            start = torch.rand(n, generator=rng.generator(spec.seed, "initial_state")) * 2 - 1
        self.r0 = nn.Parameter(start.clone()) if spec.initial_state == "learned" else None
        if spec.initial_state == "map":
            self.A = _frozen(spec.initial_map, (n, spec.init_features), spec.seed, "initial_map")
            self.a = nn.Parameter(start.clone())
        else:
            self.A = self.a = None
        self.phi = make_activation(spec.activation)

    # ----------------------------------------------------------------------------------- roles
    def parameter_roles(self) -> dict[str, list[nn.Parameter]]:
        initial = [self.r0] if self.r0 is not None else ([self.a] if self.a is not None else [])
        weights = [self.W, self.B] + ([self.A] if self.A is not None else [])
        return {
            "weight": weights,
            "bias": [self.b],
            "readout_weight": [self.C],
            "readout_bias": [self.c],
            "initial_state": initial,
        }

    def weights_checksum(self) -> str:
        """SHA-256 of the frozen random matrices (W, B, C, A): identifies the random network."""
        h = hashlib.sha256()
        for w in self.parameter_roles()["weight"] + [self.C]:
            t = w.detach().to("cpu", torch.float32).contiguous()
            h.update(str(tuple(t.shape)).encode())
            h.update(t.numpy().tobytes())
        return h.hexdigest()

    # ------------------------------------------------------------------------------- dynamics
    def initial(self, batch: int, z: torch.Tensor | None = None) -> torch.Tensor:
        """r_0 of shape (batch, units). `z` (batch, init_features) is needed for initial_state="map"."""
        spec = self.spec
        if spec.initial_state == "map":
            if z is None or z.dim() != 2 or z.shape[1] != spec.init_features:
                got = None if z is None else tuple(z.shape)
                raise BiaslearnError(f"z: expected the system initial condition (batch, {spec.init_features}), got {got}")
            return torch.tanh(z @ self.A.T + self.a)
        if spec.initial_state == "learned":
            return self.r0.expand(batch, -1)
        return self.b.new_zeros(batch, spec.units)

    def step(self, r: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        """One update r -> (1-α) r + β φ(W r + drive), where drive = B x + b, shapes (batch, units)."""
        pre = torch.addmm(drive, r, self.W.T)
        new = self.phi(pre)
        if self.spec.alpha == 1 and self.spec.beta == 1:
            return new
        return (1 - self.spec.alpha) * r + self.spec.beta * new

    def drive(self, x: torch.Tensor | None, batch: int, steps: int) -> torch.Tensor:
        """B x_t + b for the whole sequence at once: (batch, steps, units)."""
        if x is None or self.spec.in_features == 0:
            return self.b.expand(batch, steps, -1)
        return torch.matmul(x, self.B.T) + self.b

    def run(self, x: torch.Tensor | None = None, *, r0: torch.Tensor | None = None, steps: int | None = None,
            batch: int | None = None, z: torch.Tensor | None = None) -> torch.Tensor:
        """States r_1..r_T (batch, T, units) driven by inputs x (batch, T, in_features), or with no
        input for `steps` steps (autonomous). `r0` (batch, units) overrides the initial state."""
        if x is not None:
            if x.dim() != 3 or x.shape[2] != self.spec.in_features:
                raise BiaslearnError(f"x: expected shape (batch, time, {self.spec.in_features}), got {tuple(x.shape)}")
            batch, steps = x.shape[0], x.shape[1]
        else:
            if steps is None:
                raise BiaslearnError("steps: an autonomous run (x=None) needs steps")
            batch = batch or (r0.shape[0] if r0 is not None else (z.shape[0] if z is not None else 1))
        r = self.initial(batch, z) if r0 is None else r0
        drive = self.drive(x, batch, steps)
        states = []
        for t in range(steps):
            r = self.step(r, drive[:, t])
            states.append(r)
        return torch.stack(states, 1)

    def readout(self, states: torch.Tensor) -> torch.Tensor:
        """y = C r + c for states (..., units) -> (..., out_features)."""
        return torch.matmul(states, self.C.T) + self.c

    def forward(self, x: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        """Outputs y_1..y_T (batch, T, out_features); arguments as in `run`."""
        return self.readout(self.run(x, **kwargs))

    def closed_loop(self, warmup: torch.Tensor, steps: int, *, r0: torch.Tensor | None = None,
                    z: torch.Tensor | None = None, return_states: bool = False):
        """Teacher-forced over `warmup` (batch, T0, in_features), then fed its own output for `steps`
        steps (needs out_features == in_features). Returns the free-running outputs
        (batch, steps, out_features): the first is the prediction for the step after the warmup."""
        if self.spec.out_features != self.spec.in_features:
            raise BiaslearnError(
                f"closed_loop: needs out_features == in_features, got {self.spec.out_features} and {self.spec.in_features}")
        states = self.run(warmup, r0=r0, z=z)
        out, rs = self.closed_loop_from(states[:, -1], steps)
        return (out, rs) if return_states else out

    def closed_loop_from(self, r: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """From state r (batch, units): outputs y (batch, steps, out) and states, where y[:, 0] =
        C r + c and each next state reads the previous output as its input."""
        y = self.readout(r)
        outs, rs = [y], [r]
        for _ in range(steps - 1):
            r = self.step(r, torch.matmul(y, self.B.T) + self.b)
            y = self.readout(r)
            outs.append(y)
            rs.append(r)
        return torch.stack(outs, 1), torch.stack(rs, 1)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Checked, gradient-free forward pass for user inputs (batch, time, in_features)."""
        check_finite("x", x)
        with torch.no_grad():
            return self(x.to(torch.float32))


def recurrent(in_features: int, units: int, out_features: int, *, seed: int, **options) -> RecurrentNet:
    """`net = recurrent(1, 1024, 1, seed=0, recurrent="gaussian:1.5")`."""
    return RecurrentNet(RecurrentSpec(in_features, units, out_features, seed=seed, **options))


def count_trainable(model: nn.Module, method) -> int:
    """Number of scalars the method trains on this model."""
    return sum(p.numel() for p in method.trainable(model))


__all__ = ["RecurrentSpec", "RecurrentNet", "recurrent", "count_trainable", "INITIAL_STATES"]
