"""The proof of Theorem 1 (Williams et al., ICLR 2025) as an algorithm: make a wide random ReLU
network N2 compute a small target network N1 by setting biases only.

    N1(x) = sum_j a_j relu(w_j . x + b_j) + c          (n units, parameters in [-gamma, gamma])
    N2(x) = sum_i C_i relu(W_i . x + beta_i) + c2      (N units, W, C ~ U[-R, R] frozen)

For each target unit j (in decreasing order of its largest contribution |a_j| M_j) the algorithm
picks a set S_j of still-unused N2 units and sets beta_i = b_j for i in S_j; the output bias is
c2 = c; every other unit is switched off with beta_i = -(r ||W_i||_1 + margin), so that
W_i . x + beta_i <= -margin < 0 on U = [-r, r]^d and the unit's output is exactly 0 there.

With M_j = max_U relu(w_j . x + b_j) = max(0, r ||w_j||_1 + b_j), the triangle inequality gives
the certified bound used both to choose S_j and to report:

    sup_U |N2 - N1| <= sum_j [ sum_{i in S_j} |C_i| r ||W_i - w_j||_1 + |sum_{i in S_j} C_i - a_j| M_j ]

Two schemes for the outgoing weight (a config choice, reported with every result):
- "single" (the paper's): S_j is one unit whose incoming AND outgoing weights are close to
  (w_j, a_j); the best unit by the bound above is taken (window shrinks as N grows). A unit that
  lies in a window of half-width eta around every coordinate is found with probability
  (eta/R)^(d+1) per N2 unit, hence width ~ (1/eps)^(d+1).
- "subset" (ours, subset-sum as in strong-lottery-ticket proofs): take the `candidates` unused
  units nearest to w_j in incoming weights (plus the best single unit) and pick, by exhaustive
  search over their subsets of at most `group` units, the one minimising the bound: their
  outgoing weights SUM to ~a_j. The out-weight residual of the best subset of a pool of P
  uniform values shrinks like R P^-group, so mostly the d incoming coordinates need a window:
  width ~ (1/eps)^d up to the residual floor.
S_j may be empty (unit dropped) when that is cheaper, e.g. when target unit j is never active.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache

import torch

from biaslearn.errors import BiaslearnError

SCHEMES = ("single", "subset")
MAX_SUBSETS = 250_000


@dataclass(frozen=True)
class ConstructionConfig:
    scheme: str = "single"
    candidates: int = 32  # subset scheme: pool of units nearest in incoming weights
    group: int = 3  # subset scheme: at most this many units per target unit
    radius: float = 1.0  # U = [-radius, radius]^d
    margin: float = 1.0  # switched-off units have pre-activation <= -margin on U

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise BiaslearnError(f"scheme: unknown {self.scheme!r}; valid: {', '.join(SCHEMES)}")
        for name in ("candidates", "group"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise BiaslearnError(f"{name}: expected a positive int, got {v!r}")
        count = sum(math.comb(self.candidates + 1, s) for s in range(self.group + 1))
        if count > MAX_SUBSETS:
            raise BiaslearnError(
                f"candidates/group: {count} subsets to search, expected at most {MAX_SUBSETS}; lower candidates or group"
            )
        for name in ("radius", "margin"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise BiaslearnError(f"{name}: expected a positive number, got {v!r}")


@dataclass
class Construction:
    """The result: biases for N2 (units,), its output bias, the units chosen for each target unit
    (in target-unit order), and the certified sup-norm bound. Shapes: W (units, d), C (units,)."""

    biases: torch.Tensor
    output_bias: float
    groups: list[list[int]]
    bound: float
    unit_bounds: list[float] = field(default_factory=list)

    @property
    def active(self) -> torch.Tensor:
        """Indices of the N2 units that are on (sorted)."""
        idx = sorted(i for g in self.groups for i in g)
        return torch.tensor(idx, dtype=torch.long)

    def forward(self, W: torch.Tensor, C: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """N2's output on x (batch, d) -> (batch, 1) from the active units only; equal to the full
        network's output on U because every other unit outputs exactly 0 there."""
        idx = self.active
        W64, C64 = W[idx].double(), C[idx].double()
        pre = x.double() @ W64.T + self.biases[idx].double()
        return (torch.relu(pre) @ C64 + self.output_bias)[:, None]

    def apply(self, net) -> None:
        """Write the biases into a one-hidden-layer FeedForward (in place; weights untouched)."""
        with torch.no_grad():
            net.hidden[0].bias.copy_(self.biases.to(net.hidden[0].bias.dtype))
            net.readout.bias.fill_(self.output_bias)


def switch_off_biases(W: torch.Tensor, radius: float, margin: float) -> torch.Tensor:
    """beta_i = -(radius ||W_i||_1 + margin): max over U of W_i . x + beta_i is -margin."""
    return -(radius * W.double().abs().sum(1) + margin)


@lru_cache(maxsize=16)
def _subsets(k: int, group: int) -> torch.Tensor:
    """All subsets of k items with at most `group` members, as a (subsets, k) float64 0/1 matrix
    (row 0 is the empty set)."""
    rows = [c for s in range(min(group, k) + 1) for c in itertools.combinations(range(k), s)]
    out = torch.zeros((len(rows), k), dtype=torch.float64)
    for r, c in enumerate(rows):
        out[r, list(c)] = 1.0
    return out


def construct_from_weights(
    w: torch.Tensor,
    b: torch.Tensor,
    a: torch.Tensor,
    c: float,
    W: torch.Tensor,
    C: torch.Tensor,
    config: ConstructionConfig = ConstructionConfig(),
) -> Construction:
    """Target N1 = (w (n, d), b (n,), a (n,), c); random N2 = (W (N, d), C (N,)). Deterministic."""
    if w.dim() != 2 or W.dim() != 2 or w.shape[1] != W.shape[1]:
        raise BiaslearnError(f"weights: expected w (n, d) and W (N, d) with equal d, got {tuple(w.shape)} and {tuple(W.shape)}")
    if C.shape != (W.shape[0],) or a.shape != (w.shape[0],) or b.shape != (w.shape[0],):
        raise BiaslearnError("weights: expected b, a of shape (n,) and C of shape (N,)")
    r = float(config.radius)
    w, b, a, W, C = (t.detach().double() for t in (w, b, a, W, C))
    biases = switch_off_biases(W, r, config.margin)
    reach = torch.clamp(r * w.abs().sum(1) + b, min=0.0)  # M_j
    order = torch.argsort(-(a.abs() * reach), stable=True)
    used = torch.zeros(W.shape[0], dtype=torch.bool)
    groups: list[list[int]] = [[] for _ in range(w.shape[0])]
    unit_bounds = [0.0] * w.shape[0]
    absC = C.abs()
    for j in order.tolist():
        empty_cost = float(a[j].abs() * reach[j])
        if reach[j] == 0 or W.shape[0] == 0:
            unit_bounds[j] = empty_cost
            continue
        dist = r * (W - w[j]).abs().sum(1)  # r ||W_i - w_j||_1, (N,)
        incoming = absC * dist
        single = incoming + (C - a[j]).abs() * reach[j]
        single = single.masked_fill(used, float("inf"))
        best = int(torch.argmin(single))
        if config.scheme == "single":
            choice, cost = ([best], float(single[best])) if float(single[best]) < empty_cost else ([], empty_cost)
        else:
            near = dist.masked_fill(used, float("inf"))
            k = min(config.candidates, int((~used).sum()))
            pool = torch.topk(near, k, largest=False).indices.tolist()
            if best not in pool:
                pool.append(best)
            pool_t = torch.tensor(pool, dtype=torch.long)
            S = _subsets(len(pool), config.group)
            costs = S @ incoming[pool_t] + (S @ C[pool_t] - a[j]).abs() * reach[j]
            s = int(torch.argmin(costs))
            choice = [pool[t] for t in range(len(pool)) if S[s, t] > 0]
            cost = float(costs[s])
        for i in choice:
            used[i] = True
            biases[i] = b[j]
        groups[j] = sorted(choice)
        unit_bounds[j] = cost
    return Construction(biases.float(), float(c), groups, float(sum(unit_bounds)), unit_bounds)


def construct(target, random_net, config: ConstructionConfig = ConstructionConfig()) -> Construction:
    """The same for two one-hidden-layer FeedForward networks with one output (N1, N2)."""
    for name, net in (("target", target), ("random_net", random_net)):
        if len(net.hidden) != 1 or net.readout.weight.shape[0] != 1:
            raise BiaslearnError(f"{name}: expected one hidden layer and one output, got hidden={net.spec.hidden}")
    if target.spec.activation != "relu" or random_net.spec.activation != "relu":
        raise BiaslearnError("activation: the construction needs relu (a unit must switch off exactly)")
    return construct_from_weights(
        target.hidden[0].weight,
        target.hidden[0].bias,
        target.readout.weight[0],
        float(target.readout.bias[0]),
        random_net.hidden[0].weight,
        random_net.readout.weight[0],
        config,
    )


__all__ = ["SCHEMES", "ConstructionConfig", "Construction", "construct", "construct_from_weights", "switch_off_biases"]
