"""Feed-forward networks with frozen random weights: y = C φ(W_k ... φ(W_1 x + b_1) ... + b_k) + c.

Theorem 1 of Williams et al. (ICLR 2025) is about one hidden layer with W, C ~ U[-R, R]; any depth
is supported. `ResidualNetwork` is the one-block ResNet of the paper's corollary:
y = x + C φ(W x + b) + c. Weights and biases are ordinary parameters: the network does not decide
what trains (see `biaslearn.training.methods`). Each weight matrix comes from its own named random
stream ("hidden/<i>", "readout") under `seed`, so the weights depend on nothing but the spec.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import nn

from biaslearn import rng
from biaslearn.errors import BiaslearnError, check_finite
from biaslearn.memory import check_fits
from biaslearn.models.activations import ACTIVATIONS, make_activation
from biaslearn.models.gate import UnitGate
from biaslearn.models.init import WeightDistribution

BIAS_INITS = ("zeros", "uniform")


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that determines a network's frozen weights (and its initial biases)."""

    in_features: int
    hidden: tuple[int, ...]
    out_features: int
    seed: int = 0
    activation: str = "relu"
    weights: str = "uniform:0.1"  # hidden layers' weights, see WeightDistribution.parse
    readout: str = "uniform_fan_in:1"  # output layer's weights
    bias_init: str = "zeros"  # zeros | uniform (U[-bound, bound] of the layer's weights)
    residual: bool = False
    gated: bool = False  # add a UnitGate after each hidden activation (mask learning)

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for name in ("in_features", "out_features"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        if not self.hidden:
            raise BiaslearnError("hidden: expected at least one hidden layer width, got none")
        for w in self.hidden:
            if not isinstance(w, int) or isinstance(w, bool) or w < 1:
                raise BiaslearnError(f"hidden: widths must be positive ints, got {w!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise BiaslearnError(f"seed: expected a non-negative int, got {self.seed!r}")
        if self.activation not in ACTIVATIONS:
            raise BiaslearnError(f"activation: unknown name {self.activation!r}; valid: {', '.join(ACTIVATIONS)}")
        WeightDistribution.parse(self.weights)
        WeightDistribution.parse(self.readout)
        if self.bias_init not in BIAS_INITS:
            raise BiaslearnError(f"bias_init: unknown {self.bias_init!r}; valid: {', '.join(BIAS_INITS)}")
        if self.residual and (len(self.hidden) != 1 or self.in_features != self.out_features):
            raise BiaslearnError("residual: needs exactly one hidden layer and in_features == out_features")


def _linear(fan_in: int, fan_out: int, dist: WeightDistribution, bias_init: str, seed: int, stream: str) -> nn.Linear:
    layer = nn.Linear(fan_in, fan_out)
    with torch.no_grad():
        layer.weight.copy_(dist.sample((fan_out, fan_in), fan_in, generator=rng.generator(seed, stream)))
        if bias_init == "zeros":
            layer.bias.zero_()
        else:
            bound = dist.bound_or_std(fan_in)
            g = rng.generator(seed, stream + "/bias")
            layer.bias.copy_((torch.rand(fan_out, generator=g) * 2 - 1) * bound)
    return layer


class FeedForward(nn.Module):
    """Input (batch, in_features) -> output (batch, out_features).

    Attributes: `hidden` (nn.ModuleList of nn.Linear), `readout` (nn.Linear),
    `gates` (nn.ModuleList of UnitGate, empty unless spec.gated)."""

    def __init__(self, spec: NetworkSpec):
        super().__init__()
        self.spec = spec
        hidden_dist = WeightDistribution.parse(spec.weights)
        readout_dist = WeightDistribution.parse(spec.readout)
        sizes = (spec.in_features, *spec.hidden, spec.out_features)
        values = sum((a + 1) * b for a, b in zip(sizes, sizes[1:])) + (sum(spec.hidden) if spec.gated else 0)
        check_fits(4 * values, f"a network of {' x '.join(map(str, sizes))} units ({values:,} float32 parameters)")
        sizes = sizes[:-1]
        self.hidden = nn.ModuleList(
            _linear(sizes[i], sizes[i + 1], hidden_dist, spec.bias_init, spec.seed, f"hidden/{i}")
            for i in range(len(spec.hidden))
        )
        self.readout = _linear(sizes[-1], spec.out_features, readout_dist, spec.bias_init, spec.seed, "readout")
        self.activation = make_activation(spec.activation)
        self.gates = nn.ModuleList(UnitGate(w) for w in spec.hidden) if spec.gated else nn.ModuleList()

    def hidden_activity(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation (post-gate) activity of every hidden layer, each (batch, units)."""
        out = []
        h = x
        for i, layer in enumerate(self.hidden):
            h = self.activation(layer(h))
            if self.gates:
                h = self.gates[i](h)
            out.append(h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.readout(self.hidden_activity(x)[-1])
        return x + y if self.spec.residual else y

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Checked, gradient-free forward pass for user inputs of shape (batch, in_features)."""
        check_finite("x", x)
        if x.dim() != 2 or x.shape[1] != self.spec.in_features:
            raise BiaslearnError(f"x: expected shape (batch, {self.spec.in_features}), got {tuple(x.shape)}")
        with torch.no_grad():
            return self(x.to(torch.float32))

    def linear_layers(self) -> list[nn.Linear]:
        return [*self.hidden, self.readout]

    def weights_checksum(self) -> str:
        """SHA-256 of every weight matrix (not biases), identifying the frozen random network."""
        return weights_checksum(self.linear_layers())


def weights_checksum(layers) -> str:
    h = hashlib.sha256()
    for layer in layers:
        w = layer.weight.detach().to("cpu", torch.float32).contiguous()
        h.update(str(tuple(w.shape)).encode())
        h.update(w.numpy().tobytes())
    return h.hexdigest()


def feedforward(in_features: int, hidden, out_features: int, *, seed: int, **options) -> FeedForward:
    """Two-line construction: `net = feedforward(784, [4096], 10, seed=0, readout="uniform_fan_in:16")`."""
    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    return FeedForward(NetworkSpec(in_features, hidden, out_features, seed=seed, **options))


__all__ = ["NetworkSpec", "FeedForward", "feedforward", "weights_checksum"]
