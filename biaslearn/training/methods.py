"""Training methods: each is a set of parameter roles that train; everything else is frozen.

| method        | trains                                         |
|---------------|------------------------------------------------|
| bias          | all hidden and output biases (+ learned initial state) |
| full          | every weight and bias                          |
| readout       | output layer weights and bias (random features / reservoir) |
| bias+readout  | all biases and the output weights              |
| mask          | per-unit gate scores (sigmoid annealed, step at test) |
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from biaslearn.errors import BiaslearnError
from biaslearn.models.gate import UnitGate
from biaslearn.models.roles import parameter_roles


@dataclass(frozen=True)
class Method:
    name: str
    roles: tuple[str, ...]
    description: str

    def trainable(self, model: nn.Module) -> list[nn.Parameter]:
        roles = parameter_roles(model)
        params = [p for role in self.roles for p in roles[role]]
        if not params:
            hint = " (build the network with gated=True)" if "gate" in self.roles else ""
            raise BiaslearnError(f"method {self.name!r}: the model has no parameters of roles {self.roles}{hint}")
        return params

    def apply(self, model: nn.Module) -> list[nn.Parameter]:
        """Freeze everything, unfreeze this method's parameters; return them (optimizer order)."""
        params = self.trainable(model)
        for p in model.parameters():
            p.requires_grad_(False)
        for p in params:
            p.requires_grad_(True)
        return params

    def on_epoch_start(self, model: nn.Module, epoch: int, epochs: int, steepness_final: float = 100.0) -> None:
        """Mask learning anneals the gates' sigmoid steepness geometrically from 1 to `steepness_final`."""
        if self.name != "mask":
            return
        frac = epoch / max(1, epochs - 1)
        for m in model.modules():
            if isinstance(m, UnitGate):
                m.steepness.fill_(steepness_final**frac)


METHODS = {
    m.name: m
    for m in (
        Method("bias", ("bias", "readout_bias", "initial_state"), "biases only; all weights frozen"),
        Method("full", ("weight", "bias", "readout_weight", "readout_bias", "initial_state"), "every weight and bias"),
        Method("readout", ("readout_weight", "readout_bias"), "output layer only (random features)"),
        Method("bias+readout", ("bias", "readout_bias", "readout_weight", "initial_state"), "biases and output weights"),
        Method("mask", ("gate",), "per-unit gates: annealed sigmoid in training, step at test"),
    )
}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise BiaslearnError(f"method: unknown {name!r}; valid: {', '.join(METHODS)}")
    return METHODS[name]
