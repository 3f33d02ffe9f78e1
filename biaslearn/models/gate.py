"""Per-unit gates for mask learning (Fig. 2 of Williams et al. 2025).

Training: gate = sigmoid(steepness * score), with `steepness` annealed upward by the training
method; evaluation (module.eval()): gate = step(score > 0), a hard 0/1 mask."""

from __future__ import annotations

import torch
from torch import nn


class UnitGate(nn.Module):
    """h -> h * gate, gate of shape (units,). `scores` is the only parameter."""

    def __init__(self, units: int, initial_score: float = 1.0):
        super().__init__()
        self.scores = nn.Parameter(torch.full((units,), float(initial_score)))
        self.register_buffer("steepness", torch.tensor(1.0))

    def gate(self) -> torch.Tensor:
        if self.training:
            return torch.sigmoid(self.steepness * self.scores)
        return (self.scores > 0).to(self.scores.dtype)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h * self.gate()

    def units_on(self) -> int:
        return int((self.scores > 0).sum())
