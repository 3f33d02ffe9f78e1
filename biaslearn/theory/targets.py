"""Target functions on the compact set U = [-r, r]^d for the approximation study, and the small
target networks N1 of the construction (Theorem 1 of Williams et al., ICLR 2025).

Targets map x of shape (batch, d) to (batch, 1):

| name       | 1-D                      | 2-D                                   |
|------------|--------------------------|---------------------------------------|
| smooth     | sin(pi x)                | sin(pi x1) cos(pi x2)                 |
| kinked     | abs(sin(1.5 pi x))       | abs(sin(1.5 pi ||x||_2))              |
| random_net | a random ReLU net N1: y = a.relu(w x + b) + c, every parameter ~ U[-gamma, gamma] |

"kinked" is continuous, not differentiable on a set of measure zero, and not piecewise linear
(so no finite ReLU net represents it exactly). "random_net" is exactly the kind of N1 the proof
starts from.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from biaslearn import rng
from biaslearn.errors import BiaslearnError
from biaslearn.models.feedforward import FeedForward, NetworkSpec

TARGETS = ("smooth", "kinked", "random_net")


def target_network(dim: int, units: int, gamma: float, *, seed: int) -> FeedForward:
    """N1: one hidden ReLU layer of `units` units, weights, biases and readout all ~ U[-gamma, gamma]
    (bias_init="uniform" uses the same bound). Its NetworkSpec seed is derived from `seed` through
    the stream "theory/target-network": a random network N2 built with NetworkSpec(seed=seed) and
    R = gamma would otherwise share the weight streams and contain N1's units verbatim."""
    if not (isinstance(gamma, (int, float)) and gamma > 0):
        raise BiaslearnError(f"gamma: expected a positive number, got {gamma!r}")
    spec = NetworkSpec(
        dim, (units,), 1, seed=rng.stream_seed(seed, "theory/target-network"), weights=f"uniform:{gamma!r}", readout=f"uniform:{gamma!r}", bias_init="uniform"
    )
    net = FeedForward(spec)
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def make_target(name: str, dim: int, *, seed: int = 0, units: int = 8, gamma: float = 1.0) -> Callable:
    """A function x (batch, dim) -> (batch, 1). `seed`, `units`, `gamma` only matter for random_net."""
    if dim not in (1, 2):
        raise BiaslearnError(f"dim: expected 1 or 2, got {dim!r}")
    if name == "smooth":
        if dim == 1:
            return lambda x: torch.sin(math.pi * x[:, :1])
        return lambda x: (torch.sin(math.pi * x[:, 0]) * torch.cos(math.pi * x[:, 1]))[:, None]
    if name == "kinked":
        if dim == 1:
            return lambda x: torch.sin(1.5 * math.pi * x[:, :1]).abs()
        return lambda x: torch.sin(1.5 * math.pi * x.norm(dim=1, keepdim=True)).abs()
    if name == "random_net":
        net = target_network(dim, units, gamma, seed=seed)

        def f(x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return net(x)

        return f
    raise BiaslearnError(f"target: unknown {name!r}; valid: {', '.join(TARGETS)}")


def grid(dim: int, points: int, radius: float = 1.0) -> torch.Tensor:
    """The dense evaluation grid: `points` equally spaced values per axis on [-radius, radius],
    all combinations; shape (points**dim, dim), float32."""
    if not isinstance(points, int) or points < 2:
        raise BiaslearnError(f"points: expected an int >= 2, got {points!r}")
    axis = torch.linspace(-radius, radius, points, dtype=torch.float64)
    mesh = torch.meshgrid(*([axis] * dim), indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=1).to(torch.float32)


def uniform_samples(dim: int, count: int, radius: float = 1.0, *, generator: torch.Generator) -> torch.Tensor:
    """`count` points drawn uniformly on [-radius, radius]^dim, shape (count, dim)."""
    return (torch.rand((count, dim), generator=generator, dtype=torch.float32) * 2 - 1) * radius


def function_errors(prediction: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Errors of a prediction against the target on a grid (both (points, outputs)): sup-norm
    (max abs), L1 (mean abs) and L2 (root mean square) — the grid is uniform, so the means
    approximate the normalised integrals over U."""
    diff = (prediction.detach().double() - target.detach().double()).abs()
    return {"sup": float(diff.max()), "l1": float(diff.mean()), "l2": float(diff.pow(2).mean().sqrt())}


__all__ = ["TARGETS", "target_network", "make_target", "grid", "uniform_samples", "function_errors"]
