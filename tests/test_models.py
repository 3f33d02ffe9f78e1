import pytest
import torch

import biaslearn as bl
from biaslearn.models import WeightDistribution, recurrent
from biaslearn.models.roles import parameter_roles


def test_same_seed_same_weights_whatever_the_options():
    a = bl.feedforward(20, [30, 40], 5, seed=7)
    b = bl.feedforward(20, [30, 40], 5, seed=7, gated=True, bias_init="uniform")
    c = bl.feedforward(20, [30, 40], 5, seed=8)
    for la, lb in zip(a.linear_layers(), b.linear_layers()):
        assert torch.equal(la.weight, lb.weight)
    assert not torch.equal(a.hidden[0].weight, c.hidden[0].weight)
    assert a.weights_checksum() == b.weights_checksum() != c.weights_checksum()


def test_distributions_have_the_stated_scale():
    g = torch.Generator().manual_seed(0)
    u = WeightDistribution.parse("uniform:0.1").sample((400, 500), 500, generator=g)
    assert float(u.abs().max()) <= 0.1 and float(u.abs().max()) > 0.099
    gauss = WeightDistribution.parse("gaussian:2").sample((400, 500), 500, generator=g)
    assert abs(float(gauss.std()) - 2 / 500**0.5) < 0.002
    fan = WeightDistribution.parse("uniform_fan_in:16").sample((10, 400), 400, generator=g)
    assert float(fan.abs().max()) <= 16 / 20


def test_bad_specs_are_one_line_errors():
    with pytest.raises(bl.BiaslearnError, match="hidden: widths must be positive ints, got -3"):
        bl.feedforward(4, [-3], 2, seed=0)
    with pytest.raises(bl.BiaslearnError, match="unknown kind 'cauchy'"):
        bl.feedforward(4, [3], 2, seed=0, weights="cauchy:1")
    with pytest.raises(bl.BiaslearnError, match="activation: unknown name 'swoosh'"):
        bl.feedforward(4, [3], 2, seed=0, activation="swoosh")


def test_predict_rejects_nan_and_wrong_shape():
    net = bl.feedforward(4, [3], 2, seed=0)
    with pytest.raises(bl.BiaslearnError, match="NaN"):
        net.predict(torch.tensor([[0.0, float("nan"), 1.0, 2.0]]))
    with pytest.raises(bl.BiaslearnError, match=r"expected shape \(batch, 4\)"):
        net.predict(torch.zeros(2, 5))


def test_residual_block_adds_its_input():
    net = bl.feedforward(6, [50], 6, seed=0, residual=True)
    x = torch.rand(3, 6)
    h = torch.relu(net.hidden[0](x))
    assert torch.allclose(net(x), x + net.readout(h))


def test_roles_are_structural():
    net = bl.feedforward(4, [3, 5], 2, seed=0, gated=True)
    roles = parameter_roles(net)
    assert roles["bias"] == [net.hidden[0].bias, net.hidden[1].bias]
    assert roles["readout_weight"] == [net.readout.weight] and roles["readout_bias"] == [net.readout.bias]
    assert roles["weight"] == [net.hidden[0].weight, net.hidden[1].weight]
    assert [id(p) for p in roles["gate"]] == [id(g.scores) for g in net.gates]


def test_large_negative_bias_switches_relu_units_off_exactly():
    net = bl.feedforward(4, [8], 2, seed=0)
    with torch.no_grad():
        net.hidden[0].bias[:5] = -1e6
    h = net.hidden_activity(torch.rand(10, 4))[-1]
    assert torch.all(h[:, :5] == 0)


def test_a_network_that_cannot_fit_in_memory_is_refused_before_allocating(monkeypatch):
    from biaslearn import memory

    with pytest.raises(bl.BiaslearnError, match=r"784 x 2000000000 x 10 units .* GiB available; use fewer units"):
        bl.feedforward(784, [2_000_000_000], 10, seed=0)
    monkeypatch.setattr(memory, "available_bytes", lambda: 10_000)
    with pytest.raises(bl.BiaslearnError, match="needs 0.0 GiB"):
        bl.feedforward(64, [64], 10, seed=0)  # 4,810 parameters x 4 bytes > 10,000 bytes
    with pytest.raises(bl.BiaslearnError, match="recurrent network of 64 units"):
        recurrent(1, 64, 1, seed=0)
