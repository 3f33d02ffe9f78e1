"""Weight distributions for frozen random weights: Uniform[-R, R], Uniform[-g/sqrt(fan_in), ...]
and Gaussian with std g/sqrt(fan_in). Parsed from strings like "uniform:0.1" in configs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from biaslearn.errors import BiaslearnError

KINDS = ("uniform", "uniform_fan_in", "gaussian")


@dataclass(frozen=True)
class WeightDistribution:
    """`uniform`: U[-scale, scale]; `uniform_fan_in`: U[-scale/sqrt(fan_in), +...];
    `gaussian`: N(0, (scale/sqrt(fan_in))^2)."""

    kind: str = "uniform"
    scale: float = 0.1

    def __post_init__(self):
        if self.kind not in KINDS:
            raise BiaslearnError(f"weight distribution: unknown kind {self.kind!r}; valid: {', '.join(KINDS)}")
        if not (isinstance(self.scale, (int, float)) and math.isfinite(self.scale) and self.scale > 0):
            raise BiaslearnError(f"weight distribution {self.kind}: scale must be a positive number, got {self.scale!r}")

    @classmethod
    def parse(cls, text: str) -> "WeightDistribution":
        """'uniform:0.1' | 'gaussian:1' | 'uniform_fan_in:16'."""
        kind, sep, scale = str(text).partition(":")
        try:
            value = float(scale) if sep else 1.0
        except ValueError:
            raise BiaslearnError(f"weight distribution: expected kind:scale (e.g. uniform:0.1), got {text!r}") from None
        return cls(kind.strip(), value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.scale:g}"

    def bound_or_std(self, fan_in: int) -> float:
        return self.scale if self.kind == "uniform" else self.scale / math.sqrt(fan_in)

    def sample(self, shape: tuple[int, ...], fan_in: int, *, generator: torch.Generator) -> torch.Tensor:
        """A float32 CPU tensor of `shape`; identical for identical (shape, generator state)."""
        s = self.bound_or_std(fan_in)
        if self.kind == "gaussian":
            return torch.randn(shape, generator=generator, dtype=torch.float32) * s
        return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * s
