"""Fixed points of an autonomous RecurrentNet and the spectrum of its Jacobian there.

With no input (or a constant input folded into the drive d = B x + b), the network is the map
F(r) = (1 - α) r + β φ(W r + d). A fixed point r* = F(r*) is found by Newton's method
on G(r) = F(r) - r (undamped; if it fails, Levenberg-Marquardt from the same start) started from `start` (e.g. the time-average of a trajectory), with the Jacobian

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
    """(r*, residual ||F(r*) - r*||_∞) from `start` (default zeros), float64. A residual above
    `tol` means no fixed point was found from this start (a local minimum of ||G||)."""
    n = net.spec.units
    d = (net.b if drive is None else drive).double()
    W = net.W.double()
    a, b = net.spec.alpha, net.spec.beta
    r = torch.zeros(n, dtype=torch.float64) if start is None else start.detach().double().clone()
    eye = torch.eye(n, dtype=torch.float64)

    def G(r):
        return (1 - a) * r + b * net.phi(W @ r + d) - r

    def residual(r):
        return float(G(r).abs().max())

    def newton(r):  # undamped, non-monotone: often escapes where damped methods stall
        for _ in range(iterations):
            g = G(r)
            if float(g.abs().max()) < tol or not bool(torch.isfinite(g).all()):
                break
            try:
                r = r + torch.linalg.solve(jacobian(net, r, d) - eye, -g)
            except RuntimeError:
                break
        return r

    def levenberg_marquardt(r):  # monotone in ||G||, globally more robust
        mu, g = 1e-6, G(r)
        for _ in range(iterations):
            if float(g.abs().max()) < tol:
                break
            J = jacobian(net, r, d) - eye
            JtJ, Jtg = J.T @ J, J.T @ g
            for _ in range(40):
                trial_r = r + torch.linalg.solve(JtJ + mu * eye, -Jtg)
                trial = G(trial_r)
                if float(trial.norm()) < float(g.norm()):
                    r, g, mu = trial_r, trial, max(mu / 10, 1e-12)
                    break
                mu *= 10
            else:
                break
        return r

    best = r
    for method in (newton, levenberg_marquardt):
        candidate = method(r)
        if bool(torch.isfinite(candidate).all()) and residual(candidate) < residual(best):
            best = candidate
        if residual(best) < tol:
            break
    r = best
    return r, float(G(r).abs().max())


def jacobian_eigenvalues(net, r: torch.Tensor, drive: torch.Tensor | None = None) -> np.ndarray:
    """Complex eigenvalues of J(r), as a numpy array (units,)."""
    return torch.linalg.eigvals(jacobian(net, r, drive)).numpy()


def recurrent_eigenvalues(net) -> np.ndarray:
    """Eigenvalues of the frozen recurrent matrix W."""
    return torch.linalg.eigvals(net.W.detach().double()).numpy()


__all__ = ["jacobian", "fixed_point", "jacobian_eigenvalues", "recurrent_eigenvalues"]


def fixed_point_spectrum(net, trajectory: torch.Tensor | None = None, drive: torch.Tensor | None = None) -> dict:
    """The best fixed point found from zeros and from the time-average of `trajectory` (time, units),
    with its Jacobian eigenvalues: {"r", "residual", "eigenvalues", "radius"}."""
    starts = [None] if trajectory is None else [trajectory.detach().mean(0), None]
    best = None
    for start in starts:
        r, res = fixed_point(net, start, drive)
        if best is None or res < best[1]:
            best = (r, res)
    r, res = best
    eig = jacobian_eigenvalues(net, r, drive)
    return {"r": r.numpy(), "residual": res, "eigenvalues": eig, "radius": float(np.abs(eig).max())}


__all__ += ["fixed_point_spectrum"]
