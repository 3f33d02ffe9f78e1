"""Fixed points of an autonomous RecurrentNet and the spectrum of its Jacobian there.

With no input (or a constant input folded into the drive d = B x + b), the network is the map
F(r) = (1 - α) r + β φ(W r + d). A fixed point r* = F(r*) is found by Newton's method on
G(r) = F(r) - r (undamped, steps capped in norm) started from `start` (e.g. the time-average of a trajectory), with the Jacobian

    J(r) = (1 - α) I + β diag(φ'(W r + d)) W.

Eigenvalues of J(r*) on/outside the unit circle mean an oscillation or chaos around r*. The frozen
W's own eigenvalues (radius ≈ g for Gaussian N(0, g²/N)) are given by `recurrent_eigenvalues`.
"""

from __future__ import annotations

import numpy as np
import torch


def _phi_prime(net, pre: torch.Tensor) -> torch.Tensor:
    name = net.spec.activation
    if name == "tanh":
        return 1 - torch.tanh(pre) ** 2
    x = pre.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(net.phi(x).sum(), x)
    return g


@torch.no_grad()
def jacobian(net, r: torch.Tensor, drive: torch.Tensor | None = None) -> torch.Tensor:
    """J(r) (units, units) in float64 for r (units,); drive defaults to b (no input)."""
    d = net.b if drive is None else drive
    W = net.W.double()
    pre = W @ r.double() + d.double()
    jac = net.spec.beta * _phi_prime(net, pre)[:, None] * W
    return jac + (1 - net.spec.alpha) * torch.eye(len(r), dtype=torch.float64)


@torch.no_grad()
def fixed_point(net, start: torch.Tensor | None = None, drive: torch.Tensor | None = None, *,
                iterations: int = 100, tol: float = 1e-10) -> tuple[torch.Tensor, float]:
    """(r*, residual ||F(r*) - r*||_∞), Newton from `start` (default zeros), float64."""
    n = net.spec.units
    d = (net.b if drive is None else drive).double()
    W = net.W.double()
    a, b = net.spec.alpha, net.spec.beta
    r = torch.zeros(n, dtype=torch.float64) if start is None else start.detach().double().clone()
    eye = torch.eye(n, dtype=torch.float64)

    def G(r):
        return (1 - a) * r + b * net.phi(W @ r + d) - r

    for _ in range(iterations):
        g = G(r)
        if float(g.abs().max()) < tol:
            break
        J = jacobian(net, r, d) - eye
        try:
            step = torch.linalg.solve(J, -g)
        except RuntimeError:  # singular Jacobian: least-squares step
            step = torch.linalg.lstsq(J, -g[:, None]).solution[:, 0]
        # undamped Newton (a norm-decrease line search stalls in local minima of ||G|| here);
        # the step is capped to keep tanh from saturating far away
        cap = 10.0 * (1 + float(r.norm()))
        r = r + step * min(1.0, cap / max(float(step.norm()), 1e-300))
    return r, float(G(r).abs().max())


def jacobian_eigenvalues(net, r: torch.Tensor, drive: torch.Tensor | None = None) -> np.ndarray:
    """Complex eigenvalues of J(r), as a numpy array (units,)."""
    return torch.linalg.eigvals(jacobian(net, r, drive)).numpy()


def recurrent_eigenvalues(net) -> np.ndarray:
    """Eigenvalues of the frozen recurrent matrix W."""
    return torch.linalg.eigvals(net.W.detach().double()).numpy()


__all__ = ["jacobian", "fixed_point", "jacobian_eigenvalues", "recurrent_eigenvalues"]
