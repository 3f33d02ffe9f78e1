import pytest
import torch

from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import RecurrentSpec, recurrent
from biaslearn.training.methods import get_method


def test_cell_equals_torch_rnn_with_copied_weights():
    # the equation r_t = (1-α) r_{t-1} + β tanh(...) is torch.nn.RNN for α = 1, β = 1 (PAPER.md's
    # "α = 0" contradicts its own equation; see biaslearn/models/recurrent.py)
    net = recurrent(3, 16, 2, seed=1, recurrent="gaussian:1.5", bias_init="uniform", initial_state="zeros", alpha=1.0, beta=1.0)
    ref = torch.nn.RNN(3, 16, nonlinearity="tanh", batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(net.B)
        ref.weight_hh_l0.copy_(net.W)
        ref.bias_ih_l0.copy_(net.b)
        ref.bias_hh_l0.zero_()
    x = torch.randn(4, 20, 3, generator=torch.Generator().manual_seed(0))
    h0 = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    ours = net.run(x, r0=h0)
    theirs, _ = ref(x, h0[None])
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    # the general (leaky) code path gives the same at α = 1, β = 1
    leaky = recurrent(3, 16, 2, seed=1, recurrent="gaussian:1.5", bias_init="uniform", initial_state="zeros",
                      alpha=1.0, beta=1.0 + 1e-12)
    torch.testing.assert_close(leaky.run(x, r0=h0), theirs, rtol=1e-5, atol=1e-6)


def test_leaky_update_equation():
    net = recurrent(1, 8, 1, seed=0, alpha=0.3, beta=0.5, initial_state="zeros", bias_init="uniform")
    x = torch.randn(2, 5, 1)
    r = torch.zeros(2, 8)
    expected = []
    for t in range(5):
        r = 0.7 * r + 0.5 * torch.tanh(r @ net.W.T + x[:, t] @ net.B.T + net.b)
        expected.append(r)
    torch.testing.assert_close(net.run(x), torch.stack(expected, 1))


def test_roles_select_the_right_tensors():
    net = recurrent(2, 8, 2, seed=0)
    names = lambda ps: sorted(n for n, p in net.named_parameters() if any(p is q for q in ps))
    assert names(get_method("bias").trainable(net)) == ["b", "c", "r0"]
    assert names(get_method("readout").trainable(net)) == ["C", "c"]
    assert names(get_method("full").trainable(net)) == ["B", "C", "W", "b", "c", "r0"]
    mapped = recurrent(2, 8, 2, seed=0, initial_state="map", init_features=3)
    assert {id(p) for p in get_method("bias").trainable(mapped)} == {id(mapped.b), id(mapped.c), id(mapped.a)}


def test_same_seed_same_weights_and_named_streams():
    a = recurrent(2, 8, 2, seed=3)
    b = recurrent(2, 8, 2, seed=3, readout="gaussian:2")  # another readout must not change W, B
    assert torch.equal(a.W, b.W) and torch.equal(a.B, b.B)
    assert a.weights_checksum() != recurrent(2, 8, 2, seed=4).weights_checksum()
    w = recurrent(0, 400, 1, seed=0, recurrent="gaussian:2").W.detach()
    assert abs(float(w.std()) * 20 - 2) < 0.05  # std g/sqrt(N)


def test_autonomous_and_closed_loop_shapes():
    net = recurrent(0, 8, 1, seed=0)
    assert net(steps=7, batch=3).shape == (3, 7, 1)
    loop = recurrent(2, 8, 2, seed=0)
    warmup = torch.randn(3, 5, 2)
    with torch.no_grad():
        out = loop.closed_loop(warmup, 11)
        assert out.shape == (3, 11, 2)
        # the first free-running output is the last teacher-forced one; the next is fed it back
        torch.testing.assert_close(out[:, 0], loop(warmup)[:, -1])
        fed = torch.cat([warmup, out[:, :1]], 1)
        torch.testing.assert_close(out[:, 1], loop(fed)[:, -1])


def test_bad_specs_raise():
    with pytest.raises(BiaslearnError, match="initial_state"):
        RecurrentSpec(1, 4, 1, initial_state="nope")
    with pytest.raises(BiaslearnError, match="init_features"):
        RecurrentSpec(1, 4, 1, initial_state="map")
    with pytest.raises(BiaslearnError, match="expected shape"):
        recurrent(2, 4, 2, seed=0)(torch.zeros(1, 3, 5))
    with pytest.raises(BiaslearnError, match="out_features == in_features"):
        recurrent(2, 4, 1, seed=0).closed_loop(torch.zeros(1, 3, 2), 4)


def test_initial_state_map_of_the_system_initial_condition():
    net = recurrent(0, 10, 1, seed=0, initial_state="map", init_features=2)
    z = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    r0 = net.initial(2, z)
    torch.testing.assert_close(r0, torch.tanh(z @ net.A.T + net.a))
    assert not torch.allclose(r0[0], r0[1])
    assert net(steps=3, z=z).shape == (2, 3, 1)
    with pytest.raises(BiaslearnError, match="initial condition"):
        net(steps=3, batch=2)
    A = net.A.detach().clone()
    from biaslearn.training.sequence import SequenceTrainConfig, train_sequence

    train_sequence(net, lambda n, s: (n(steps=5, z=z) ** 2).mean(), "bias", SequenceTrainConfig(steps=3, lr=0.1))
    assert torch.equal(net.A, A)  # the map's weight is frozen under bias learning; its offset a trains
