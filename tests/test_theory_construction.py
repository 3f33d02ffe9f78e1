"""The proof's construction: planted units are found exactly, switched-off units output exactly
zero, the certified bound holds, and the error falls as the random network widens."""

import numpy as np
import pytest
import torch

from biaslearn import rng
from biaslearn.errors import BiaslearnError
from biaslearn.models.feedforward import FeedForward, NetworkSpec
from biaslearn.theory.construction import ConstructionConfig, construct, construct_from_weights
from biaslearn.theory.targets import function_errors, grid, target_network


def random_net(dim, width, R, seed):
    return FeedForward(NetworkSpec(dim, (width,), 1, seed=seed, weights=f"uniform:{R}", readout=f"uniform:{R}"))


def plant(n1, n2, at):
    with torch.no_grad():
        for j, i in enumerate(at):
            n2.hidden[0].weight[i] = n1.hidden[0].weight[j]
            n2.readout.weight[0, i] = n1.readout.weight[0, j]


@pytest.mark.parametrize("scheme", ["single", "subset"])
@pytest.mark.parametrize("dim", [1, 2])
def test_planted_target_is_reproduced_exactly(scheme, dim):
    n1 = target_network(dim, 5, 1.0, seed=3)
    n2 = random_net(dim, 300, 2.0, seed=4)
    at = [17, 250, 3, 99, 120]
    plant(n1, n2, at)
    con = construct(n1, n2, ConstructionConfig(scheme=scheme))
    reach = (n1.hidden[0].weight.abs().sum(1) + n1.hidden[0].bias).clamp(min=0)
    for j, i in enumerate(at):
        assert con.groups[j] == ([i] if reach[j] > 0 else [])
    assert con.bound == 0.0
    con.apply(n2)
    x = grid(dim, 201 if dim == 1 else 41)
    with torch.no_grad():
        assert torch.allclose(n2(x), n1(x), atol=1e-6, rtol=0)
    assert function_errors(con.forward(n2.hidden[0].weight, n2.readout.weight[0], x), n1(x).detach())["sup"] < 1e-6


@pytest.mark.parametrize("scheme", ["single", "subset"])
def test_switched_off_units_contribute_exactly_zero(scheme):
    n1 = target_network(2, 4, 1.0, seed=0)
    n2 = random_net(2, 2000, 1.5, seed=1)
    con = construct(n1, n2, ConstructionConfig(scheme=scheme, radius=1.0))
    con.apply(n2)
    x = torch.cat([grid(2, 61), torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])])
    off = torch.ones(2000, dtype=torch.bool)
    off[con.active] = False
    h = n2.hidden_activity(x)[-1].detach()
    assert torch.equal(h[:, off], torch.zeros_like(h[:, off]))
    before = n2(x).detach()
    with torch.no_grad():  # any readout weight of a switched-off unit is irrelevant, bit for bit
        n2.readout.weight[0, off] = torch.randn(int(off.sum()), generator=rng.generator(0, "test"))
    assert torch.equal(n2(x).detach(), before)
    active_only = con.forward(n2.hidden[0].weight, n2.readout.weight[0], x).float()
    assert torch.allclose(active_only, before, atol=1e-5)


@pytest.mark.parametrize("scheme", ["single", "subset"])
def test_certified_bound_holds(scheme):
    for seed in range(4):
        n1 = target_network(1, 6, 1.0, seed=seed)
        n2 = random_net(1, 3000, 2.0, seed=100 + seed)
        con = construct(n1, n2, ConstructionConfig(scheme=scheme))
        x = grid(1, 4001)
        err = function_errors(con.forward(n2.hidden[0].weight, n2.readout.weight[0], x), n1(x).detach())["sup"]
        assert err <= con.bound + 1e-6


def test_error_falls_with_width_at_fixed_eps():
    """Nested random networks (prefixes of one draw) of widths 64, 1024, 16384 over 6 seeds."""
    n1 = target_network(1, 3, 1.0, seed=7)
    x = grid(1, 1001)
    y = n1(x).detach()
    w, b, a, c = n1.hidden[0].weight, n1.hidden[0].bias, n1.readout.weight[0], float(n1.readout.bias[0])
    widths, eps = [64, 1024, 16384], 0.05
    errors = np.zeros((6, 3))
    for seed in range(6):
        g = rng.generator(seed, "test/n2")
        W = (torch.rand((16384, 1), generator=g) * 2 - 1) * 2.0
        C = (torch.rand(16384, generator=g) * 2 - 1) * 2.0
        for k, n in enumerate(widths):
            con = construct_from_weights(w, b, a, c, W[:n], C[:n])
            errors[seed, k] = function_errors(con.forward(W[:n], C[:n], x), y)["sup"]
    mean = errors.mean(0)
    assert mean[0] > mean[1] > mean[2]
    success = (errors <= eps).mean(0)
    assert success[0] <= success[1] <= success[2] and success[2] == 1.0 and success[0] < 1.0


def test_bad_config_messages():
    with pytest.raises(BiaslearnError, match="scheme: unknown 'pairs'"):
        ConstructionConfig(scheme="pairs")
    with pytest.raises(BiaslearnError, match="subsets to search"):
        ConstructionConfig(scheme="subset", candidates=200, group=4)
    n1 = target_network(1, 2, 1.0, seed=0)
    with pytest.raises(BiaslearnError, match="expected one hidden layer"):
        construct(n1, FeedForward(NetworkSpec(1, (8, 8), 1)))


def test_target_network_does_not_share_streams_with_random_networks():
    n1 = target_network(1, 4, 1.0, seed=0)
    n2 = random_net(1, 64, 1.0, seed=0)
    assert not torch.equal(n1.hidden[0].weight, n2.hidden[0].weight[:4])
