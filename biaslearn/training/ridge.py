"""Closed-form readout (the reservoir / echo-state baseline): ridge regression of targets on states.

    C, c = argmin_{C, c} Σ_i ||C r_i + c - y_i||² + λ ||C||²_F      (the intercept c is not penalised)

Solved on centred data in float64: C = Y_cᵀ R_c (R_cᵀ R_c + λ I)⁻¹, c = ȳ - C r̄.
"""

from __future__ import annotations

import torch

from biaslearn.errors import BiaslearnError


def ridge_readout(states: torch.Tensor, targets: torch.Tensor, ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
    """states (samples, units), targets (samples, out) -> C (out, units), c (out,) in float32."""
    if states.dim() != 2 or targets.dim() != 2 or states.shape[0] != targets.shape[0]:
        raise BiaslearnError(f"ridge_readout: expected (samples, units) and (samples, out), got {tuple(states.shape)} and {tuple(targets.shape)}")
    if not ridge >= 0:
        raise BiaslearnError(f"ridge: expected a number >= 0, got {ridge!r}")
    r = states.detach().double()
    y = targets.detach().double()
    r_mean, y_mean = r.mean(0), y.mean(0)
    rc, yc = r - r_mean, y - y_mean
    gram = rc.T @ rc + ridge * torch.eye(r.shape[1], dtype=torch.float64)
    C = torch.linalg.solve(gram, rc.T @ yc).T
    c = y_mean - C @ r_mean
    return C.float(), c.float()


def fit_readout(model, states: torch.Tensor, targets: torch.Tensor, ridge: float) -> None:
    """Set `model.C`, `model.c` (a RecurrentNet's readout) in place from flattened states/targets."""
    C, c = ridge_readout(states.reshape(-1, states.shape[-1]), targets.reshape(-1, targets.shape[-1]), ridge)
    with torch.no_grad():
        model.C.copy_(C)
        model.c.copy_(c)


__all__ = ["ridge_readout", "fit_readout"]
