"""Bias-only tuning of any PyTorch model (BitFit, Ben Zaken et al. 2022): freeze every parameter
but the biases, or the selected ones, optionally giving a zero bias to layers that have none.

    report = bl.bias_only(model)                       # every bias trains, nothing else
    report = bl.bias_only(model, include=["encoder.layer.*.attention.*", "classifier.*"])
    print(report)   # trainable 1,234 of 22,713,216 parameters (0.005%) in 37 bias tensors

A bias is a module's `bias` parameter (structural: nn.Linear, convolutions, norms, ...), found
the way biaslearn finds the roles of its own networks, never by a pattern on names alone."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import torch
from torch import nn

from biaslearn.errors import BiaslearnError
from biaslearn.models.roles import parameter_roles

BIASABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)  # layers that can take a zero bias (add_missing)


@dataclass(frozen=True)
class BiasOnly:
    """What `bias_only` left trainable."""

    names: tuple[str, ...]  # the trainable bias parameters, in model order
    trainable: int
    total: int
    added: tuple[str, ...]  # zero biases added to layers that had none

    def __str__(self) -> str:
        added = f"; {len(self.added)} zero biases added" if self.added else ""
        return (f"trainable {self.trainable:,} of {self.total:,} parameters ({100 * self.trainable / max(1, self.total):.3f}%) "
                f"in {len(self.names)} bias tensors{added}")


def _add_zero_biases(model: nn.Module) -> list[str]:
    added = []
    for name, module in model.named_modules():
        if isinstance(module, BIASABLE) and module.bias is None:
            w = module.weight
            module.bias = nn.Parameter(torch.zeros(w.shape[0], dtype=w.dtype, device=w.device))
            added.append(f"{name}.bias" if name else "bias")
    return added


def _selector(include):
    if include is None:
        return lambda name: True
    if callable(include):
        return include
    patterns = [include] if isinstance(include, str) else list(include)
    return lambda name: any(fnmatch.fnmatchcase(name, p) for p in patterns)


def bias_names(model: nn.Module) -> list[str]:
    """Every bias parameter of `model` by name, in model order."""
    roles = parameter_roles(model)
    ids = {id(p) for role in ("bias", "readout_bias") for p in roles[role]}
    return [name for name, p in model.named_parameters() if id(p) in ids]


def bias_only(model: nn.Module, include=None, *, add_missing: bool = False) -> BiasOnly:
    """Freeze every parameter of `model` but its biases (those whose names match `include`: a glob
    pattern, a list of them or a predicate on the name; None: all). add_missing=True first gives
    every Linear / Conv layer without a bias a zero one (outputs unchanged). Returns the counts."""
    if not isinstance(model, nn.Module):
        raise BiaslearnError(f"bias_only: expected a torch.nn.Module, got {type(model).__name__}")
    added = _add_zero_biases(model) if add_missing else []
    available = bias_names(model)
    chosen = [n for n in available if _selector(include)(n)]
    if not chosen:
        shown = ", ".join(available[:8]) + (", ..." if len(available) > 8 else "")
        raise BiaslearnError(f"bias_only: no bias matches include={include!r}; the model's biases: {shown or '(none)'}"
                             + ("" if available else "; pass add_missing=True to give its layers zero biases"))
    keep = set(chosen)
    for name, p in model.named_parameters():
        p.requires_grad_(name in keep)
    params = dict(model.named_parameters())
    return BiasOnly(tuple(chosen), sum(params[n].numel() for n in chosen), sum(p.numel() for p in params.values()), tuple(added))
