"""Parameter roles: which tensor of a model is a hidden weight, a bias, the readout, a gate.

Training methods are sets of roles. A model may define `parameter_roles()`; otherwise roles are
read structurally: a module's `bias` attribute is a bias, the last nn.Linear is the readout,
a UnitGate's `scores` is a gate, every other parameter is a weight. Never by name pattern."""

from __future__ import annotations

from torch import nn

from biaslearn.models.gate import UnitGate

ROLES = ("weight", "bias", "readout_weight", "readout_bias", "gate", "initial_state")


def parameter_roles(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    if hasattr(model, "parameter_roles"):
        roles = model.parameter_roles()
        return {role: list(roles.get(role, [])) for role in ROLES}
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    readout = linears[-1] if linears else None
    roles: dict[str, list[nn.Parameter]] = {role: [] for role in ROLES}
    seen: set[int] = set()
    for module in model.modules():
        for attr, p in module.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            if isinstance(module, UnitGate):
                roles["gate"].append(p)
            elif module is readout:
                roles["readout_bias" if attr == "bias" else "readout_weight"].append(p)
            elif p is getattr(module, "bias", None):
                roles["bias"].append(p)
            else:
                roles["weight"].append(p)
    return roles
