"""A multi-head network: one shared hidden layer, one readout per task (the fully trained
baseline of the task-selectivity analysis):  y_t = C_t relu(W x + b) + c_t  for task t.

Weights come from the same named streams as FeedForward ("hidden/0"; readouts "readout/<t>")."""

from __future__ import annotations

import torch
from torch import nn

from biaslearn.errors import BiaslearnError
from biaslearn.models.feedforward import NetworkSpec, _linear
from biaslearn.models.init import WeightDistribution


class MultiHead(nn.Module):
    """Input (batch, in_features), head index t -> (batch, outputs[t])."""

    def __init__(self, spec: NetworkSpec, outputs: tuple[int, ...]):
        super().__init__()
        if len(spec.hidden) != 1 or spec.gated or spec.residual:
            raise BiaslearnError("MultiHead: expected a spec with one hidden layer, not gated, not residual")
        if not outputs or any(o < 1 for o in outputs):
            raise BiaslearnError(f"MultiHead: expected positive output sizes per head, got {outputs}")
        self.spec = spec
        hidden, readout = WeightDistribution.parse(spec.weights), WeightDistribution.parse(spec.readout)
        width = spec.hidden[0]
        self.hidden = nn.ModuleList([_linear(spec.in_features, width, hidden, spec.bias_init, spec.seed, "hidden/0")])
        self.heads = nn.ModuleList(
            _linear(width, o, readout, spec.bias_init, spec.seed, f"readout/{t}") for t, o in enumerate(outputs)
        )

    def hidden_activity(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [torch.relu(self.hidden[0](x))]

    def forward(self, x: torch.Tensor, head: int = 0) -> torch.Tensor:
        return self.heads[head](self.hidden_activity(x)[-1])
