"""Activation functions by name. ReLU and ReLU6 are bias-learning activations in the sense of the
paper (zero below a threshold, so a large negative bias switches a unit off exactly)."""

from __future__ import annotations

from torch import nn

from biaslearn.errors import BiaslearnError

ACTIVATIONS = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
}


def make_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise BiaslearnError(f"activation: unknown name {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def switches_off(name: str) -> bool:
    """True if the activation is exactly zero below some threshold."""
    return name in ("relu", "relu6")

