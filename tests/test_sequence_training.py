import numpy as np
import pytest
import torch

from biaslearn.analysis.fixed_points import fixed_point, jacobian, jacobian_eigenvalues, recurrent_eigenvalues
from biaslearn.errors import BiaslearnError
from biaslearn.models.recurrent import recurrent
from biaslearn.training import checkpoint
from biaslearn.training.ridge import fit_readout, ridge_readout
from biaslearn.training.sequence import SequenceTrainConfig, train_sequence

TARGET = torch.cos(2 * torch.pi * torch.arange(1, 41) / 10)[None, :, None]


def objective(net, step):
    out = net(steps=40, batch=1)
    return torch.mean((out - TARGET) ** 2)


def test_bias_training_leaves_frozen_weights_bitwise_unchanged(tmp_path):
    net = recurrent(0, 32, 1, seed=0, recurrent="gaussian:1.5", readout="gaussian:1")
    frozen = {k: v.clone() for k, v in net.named_parameters() if k in ("W", "B", "C")}
    b0 = net.b.detach().clone()
    history = train_sequence(net, objective, "bias", SequenceTrainConfig(steps=20, lr=1e-2), checkpoint_dir=tmp_path)
    for k, v in frozen.items():
        assert torch.equal(getattr(net, k), v), k
    assert not torch.equal(net.b, b0)
    assert history[-1]["loss"] < history[0]["loss"]


def test_resume_gives_the_same_history(tmp_path):
    config = SequenceTrainConfig(steps=12, lr=1e-2, checkpoint_every=4, log_every=1)
    whole = train_sequence(recurrent(0, 16, 1, seed=0), objective, "bias", config)
    short = SequenceTrainConfig(steps=12, lr=1e-2, checkpoint_every=4, log_every=1)
    net = recurrent(0, 16, 1, seed=0)
    calls = []

    def interrupted(net, step):
        calls.append(step)
        if step == 9:
            raise KeyboardInterrupt
        return objective(net, step)

    with pytest.raises(KeyboardInterrupt):
        train_sequence(net, interrupted, "bias", short, checkpoint_dir=tmp_path)
    resumed = train_sequence(recurrent(0, 16, 1, seed=0), objective, "bias", short, checkpoint_dir=tmp_path)
    assert [h["loss"] for h in resumed] == pytest.approx([h["loss"] for h in whole], rel=1e-6)


def test_divergence_raises_and_keeps_last_good_checkpoint(tmp_path):
    net = recurrent(0, 8, 1, seed=0)

    def exploding(net, step):
        loss = objective(net, step)
        return (loss * float("nan"), 0.0) if step == 7 else (loss, 1.0)

    config = SequenceTrainConfig(steps=20, lr=1e-2, checkpoint_every=5)
    with pytest.raises(BiaslearnError, match="diverged at step 7"):
        train_sequence(net, exploding, "bias", config, checkpoint_dir=tmp_path)
    from biaslearn.training.sequence import fingerprint
    from biaslearn.training.methods import get_method

    state = checkpoint.load(tmp_path, fingerprint=fingerprint(net, get_method("bias"), config, ""))
    assert state["epoch"] == 4  # the step-5 save; nothing written after the failure
    with pytest.raises(BiaslearnError, match="max \\|state\\|"):
        train_sequence(recurrent(0, 8, 1, seed=0), lambda n, s: (objective(n, s), 1e9), "bias", config)


def test_ridge_readout_recovers_a_linear_map():
    g = torch.Generator().manual_seed(0)
    states = torch.randn(500, 6, generator=g)
    C, c = torch.randn(2, 6, generator=g), torch.tensor([0.5, -1.0])
    fitC, fitc = ridge_readout(states, states @ C.T + c, 1e-8)
    torch.testing.assert_close(fitC, C, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fitc, c, atol=1e-4, rtol=1e-4)
    net = recurrent(2, 6, 2, seed=0)
    fit_readout(net, states[None], (states @ C.T + c)[None], 1e-8)
    torch.testing.assert_close(net.C.detach(), C, atol=1e-4, rtol=1e-4)


def test_fixed_point_and_jacobian():
    net = recurrent(0, 20, 1, seed=0, recurrent="gaussian:0.5", bias_init="uniform", alpha=0.2, beta=0.7)
    r, residual = fixed_point(net)
    assert residual < 1e-9
    # Jacobian matches autograd of the map
    F = lambda x: (1 - 0.2) * x + 0.7 * torch.tanh(net.W.double() @ x + net.b.double())
    auto = torch.autograd.functional.jacobian(F, r)
    torch.testing.assert_close(jacobian(net, r), auto)
    # contracting network (g = 0.5): all eigenvalues inside the unit circle, and W's radius ~ g
    assert np.abs(jacobian_eigenvalues(net, r)).max() < 1
    assert 0.3 < np.abs(recurrent_eigenvalues(net)).max() < 0.8
