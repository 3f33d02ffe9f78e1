"""The reaching task, the closed loop and the experiment (science checks on a tiny run)."""

import dataclasses
import math

import pytest
import torch

from biaslearn import rng
from biaslearn.data.arm import ArmSpec, TwoJointArm
from biaslearn.data.reaching import ReachSpec, curl_force, endpoint_error, lateral_deviation, make_batch, ring
from biaslearn.errors import BiaslearnError
from biaslearn.experiments import reaching
from biaslearn.models.recurrent import RecurrentNet, RecurrentSpec
from biaslearn.results import RunFolder
from biaslearn.training.closed_loop import ReachTraining, rollout, train_reaching


def test_batch_inputs_and_go_cue():
    spec = ReachSpec(delay_steps=(3, 7), move_steps=20)
    batch = make_batch(spec, ring(8), generator=rng.generator(0, "t"))
    assert batch.inputs.shape == (8, 27, 3)
    assert bool(((batch.go >= 3) & (batch.go <= 7)).all())
    for i in range(8):
        cue = batch.inputs[i, :, 2]
        assert cue[: batch.go[i]].sum() == 0 and bool((cue[batch.go[i]:] == 1).all())
    torch.testing.assert_close(batch.targets.norm(dim=1), torch.full((8,), 0.1))
    torch.testing.assert_close(batch.targets[2], torch.tensor([0.0, 0.1]), atol=1e-7, rtol=0)
    again = make_batch(spec, ring(8), generator=rng.generator(0, "t"))
    assert torch.equal(again.go, batch.go)


def test_metrics_on_known_paths():
    spec = ReachSpec(delay_steps=(0, 0), move_steps=20, reaction_steps=0, end_steps=5)
    batch = make_batch(spec, torch.tensor([0.0]), generator=None)
    s = torch.linspace(0, 1, 20)
    straight = torch.stack((0.1 * s, torch.zeros(20)), 1)[None]
    bowed = torch.stack((0.1 * s, 0.02 * torch.sin(math.pi * s)), 1)[None]
    assert float(endpoint_error(spec, batch, straight)) < 0.02
    assert float(lateral_deviation(batch, straight)) == 0
    assert abs(float(lateral_deviation(batch, bowed)) - 0.02) < 1e-3
    assert abs(float(lateral_deviation(batch, -bowed * torch.tensor([-1.0, 1.0]))) + 0.02) < 1e-3


def test_curl_force_is_perpendicular_and_counter_clockwise():
    v = torch.tensor([[1.0, 0.0], [0.3, -0.4]])
    f = curl_force(v, 10.0)
    torch.testing.assert_close((f * v).sum(1), torch.zeros(2))
    torch.testing.assert_close(f[0], torch.tensor([0.0, 10.0]))


def test_spec_messages():
    with pytest.raises(BiaslearnError, match="delay_steps"):
        ReachSpec(delay_steps=(5, 2))
    with pytest.raises(BiaslearnError, match="move_steps: expected >= reaction_steps"):
        ReachSpec(move_steps=5)


def _setup(units=32, **spec):
    spec = ReachSpec(delay_steps=(2, 4), move_steps=25, **spec)
    net = RecurrentNet(RecurrentSpec(spec.in_features, units, 2, seed=3, alpha=0.2, beta=0.2,
                                     recurrent="gaussian:1.2", initial_init="zeros"))
    return spec, TwoJointArm(ArmSpec()), net


def test_rollout_is_deterministic_and_differentiable():
    spec, arm, net = _setup()
    batch = make_batch(spec, ring(4), generator=rng.generator(0, "b"))
    a = rollout(net, arm, spec, batch, generator=rng.generator(0, "n"))
    b = rollout(net, arm, spec, batch, generator=rng.generator(0, "n"))
    assert torch.equal(a.hand, b.hand) and a.hand.shape == (4, spec.steps, 2)
    a.hand.pow(2).sum().backward()
    assert net.b.grad is not None and net.b.grad.abs().sum() > 0


def test_bias_training_keeps_frozen_weights_bitwise():
    spec, arm, net = _setup()
    before = {k: v.clone() for k, v in net.named_parameters() if k in ("W", "B", "C")}
    b0 = net.b.detach().clone()
    train_reaching(net, arm, spec, "bias", ReachTraining(epochs=3, lr=1e-2, batch_size=8, eval_every=3), ring(8))
    for name, value in before.items():
        assert torch.equal(getattr(net, name), value), name
    assert not torch.equal(net.b, b0)


def _small_problem():
    spec = ReachSpec(delay_steps=(3, 6), move_steps=30, reaction_steps=8, end_steps=6)
    net = RecurrentNet(RecurrentSpec(spec.in_features, 128, 2, seed=0, alpha=0.2, beta=0.2,
                                     recurrent="gaussian:1.2", initial_init="zeros"))
    return spec, net


def test_bias_training_lowers_the_reach_loss():
    spec, net = _small_problem()
    history = train_reaching(net, TwoJointArm(ArmSpec()), spec, "bias",
                             ReachTraining(epochs=12, lr=0.05, batch_size=8, eval_every=4), ring(4))
    assert history[-1]["loss"] < 0.85 * history[1]["loss"], history
    assert history[-1]["error"] < history[0]["error"], history


TINY = dict(reaching.QUICK, units=32, epochs=("bias=4", "full=4", "readout=4"), delay_min=2, delay_max=4,
            move_steps=25, adapt_epochs=2, washout_epochs=2, sweep=12, eval_every=2)


def test_tiny_run_writes_results_and_figures(tmp_path):
    config = dataclasses.replace(reaching.Config(), **TINY)
    folder = RunFolder(tmp_path, show_progress=False)
    summary = reaching.run(config, folder)
    assert set(summary["methods"]) == {"bias", "full", "readout"}
    assert all(row["frozen_unchanged"] for row in summary["methods"].values())
    assert summary["adaptation"]["bias"]["frozen_unchanged"] is True
    for name in ("trajectories.png", "error_vs_epoch.png", "generalisation.png", "adaptation.png", "results.json"):
        assert (folder.path / name).exists(), name
    assert "bias / full" in reaching.format_summary(summary)


def test_config_messages():
    with pytest.raises(BiaslearnError, match="methods: unknown 'mask'"):
        reaching.Config(methods=("mask",))
    with pytest.raises(BiaslearnError, match="adapt_from"):
        reaching.Config(methods=("full",), adapt_from=("bias",))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    config = dataclasses.replace(reaching.Config(), **reaching.QUICK)
    folder = RunFolder(tmp_path_factory.mktemp("reaching"), show_progress=False)
    return folder, reaching.run(config, folder)


@pytest.mark.slow
def test_quick_run_learns_to_reach(quick_run):
    _, summary = quick_run
    for method in ("bias", "full"):
        row = summary["methods"][method]
        assert row["final_error_cm"] < 0.3 * row["untrained_error_cm"], row
        assert row["frozen_unchanged"] is True
        assert row["unseen_sweep_error_cm"] < 0.4 * row["untrained_error_cm"], row
    assert summary["methods"]["bias"]["trained_parameters"] < summary["methods"]["full"]["trained_parameters"] / 10


@pytest.mark.slow
def test_quick_run_adaptation_reduces_curl_error(quick_run):
    _, summary = quick_run
    row = summary["adaptation"]["bias"]
    assert row["frozen_unchanged"] is True
    assert row["field_first_lateral_cm"] > 0  # a counter-clockwise curl pushes reaches counter-clockwise
    assert row["field_last_error_cm"] < row["field_first_error_cm"]
