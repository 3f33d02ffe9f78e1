import pytest
import torch

import biaslearn as bl
from biaslearn.training.methods import METHODS

CONFIG = bl.TrainConfig(epochs=2, batch_size=64, lr=1e-2, engine="plain")


def _net(task, method, seed=0):
    return bl.feedforward(task.in_features, [32], task.out_features, seed=seed, gated=(method == "mask"))


# What each method trains, stated here and not asked of the code: parameter names of a
# one-hidden-layer network (gated for mask).
TRAINS = {
    "bias": {"hidden.0.bias", "readout.bias"},
    "full": {"hidden.0.weight", "hidden.0.bias", "readout.weight", "readout.bias"},
    "readout": {"readout.weight", "readout.bias"},
    "bias+readout": {"hidden.0.bias", "readout.weight", "readout.bias"},
    "mask": {"gates.0.scores"},
}


def test_the_table_covers_every_method():
    assert set(TRAINS) == set(METHODS)


@pytest.mark.parametrize("engine", ["plain", "fast"])
@pytest.mark.parametrize("method", list(TRAINS))
def test_each_method_trains_exactly_its_parameters(digits, method, engine):
    """Values: the listed parameters move, every other one stays bitwise equal; requires_grad is
    on for the listed ones only (no weight gradient is ever computed for a frozen tensor)."""
    net = _net(digits, method)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    config = bl.TrainConfig(epochs=2, batch_size=64, lr=1e-2, engine=engine)
    if engine == "fast" and method == "full":
        with pytest.raises(bl.BiaslearnError, match="does not apply"):
            bl.train(net, digits, method, config)
        return
    bl.train(net, digits, method, config)
    moved = {name for name, p in net.named_parameters() if not torch.equal(p, before[name])}
    assert moved == TRAINS[method]
    assert {name for name, p in net.named_parameters() if p.requires_grad} == TRAINS[method]
    bl.get_method("full").apply(net)
    bl.get_method(method).apply(net)  # apply freezes what an earlier method left trainable
    assert {name for name, p in net.named_parameters() if p.requires_grad} == TRAINS[method]


def test_methods_state_what_trains(digits):
    net = _net(digits, "bias")
    n = {m: sum(p.numel() for p in bl.get_method(m).trainable(net)) for m in ("bias", "full", "readout", "bias+readout")}
    assert n["bias"] == 32 + 10
    assert n["readout"] == 32 * 10 + 10
    assert n["bias+readout"] == 32 + 32 * 10 + 10
    assert n["full"] == 64 * 32 + 32 + 32 * 10 + 10
    with pytest.raises(bl.BiaslearnError, match="gated=True"):
        bl.get_method("mask").trainable(net)
    with pytest.raises(bl.BiaslearnError, match="method: unknown 'biases'; valid: bias, full"):
        bl.get_method("biases")


def test_same_run_twice_same_history(digits):
    runs = []
    for _ in range(2):
        history = bl.train(_net(digits, "bias"), digits, "bias", CONFIG)
        runs.append([(h["train_loss"], h["test_loss"], h["test_accuracy"]) for h in history])
    assert runs[0] == runs[1]


def test_bias_learning_learns(digits):
    net = bl.feedforward(64, [512], 10, seed=0, weights="uniform_fan_in:1", readout="uniform_fan_in:16")
    history = bl.train(net, digits, "bias", bl.TrainConfig(epochs=8, batch_size=64, lr=1e-2, engine="plain"))
    assert history[-1]["test_accuracy"] > 0.7  # chance is 0.1


def test_mask_gates_are_hard_steps_at_evaluation(digits):
    net = _net(digits, "mask")
    bl.train(net, digits, "mask", CONFIG)
    gate = net.gates[0]
    assert float(gate.steepness) == pytest.approx(100.0)
    net.eval()
    assert set(gate.gate().unique().tolist()) <= {0.0, 1.0}
    net.train()
    gate.steepness.fill_(1.0)
    assert torch.all((gate.gate() > 0) & (gate.gate() < 1))


def test_train_config_validation():
    with pytest.raises(bl.BiaslearnError, match="epochs: expected a positive int, got 0"):
        bl.TrainConfig(epochs=0)
    with pytest.raises(bl.BiaslearnError, match="lr: expected a positive number"):
        bl.TrainConfig(lr=-1)


def test_nan_in_user_data_is_refused():
    x = torch.rand(10, 3)
    x[2, 1] = float("nan")
    with pytest.raises(bl.BiaslearnError, match="x: contains 1 NaN"):
        bl.from_tensors("bad", x, torch.zeros(10, dtype=torch.long), torch.rand(4, 3), torch.zeros(4, dtype=torch.long))


def test_divergence_is_a_clear_error(tiny_task):
    net = bl.feedforward(12, [16], 4, seed=0, readout="uniform:1e38")
    with pytest.raises(bl.BiaslearnError, match="diverged"):
        bl.train(net, tiny_task, "full", bl.TrainConfig(epochs=1, lr=1e3, engine="plain"))


def test_train_epochs_interleaved_runs_match_separate_runs(digits):
    """Two runs driven epoch by epoch in alternation give each run's own history and biases."""
    config = bl.TrainConfig(epochs=3, batch_size=64, lr=1e-2, engine="plain")
    alone = [_net(digits, "bias", seed=s) for s in (0, 1)]
    want = [bl.train(net, digits, "bias", config) for net in alone]
    nets = [_net(digits, "bias", seed=s) for s in (0, 1)]
    runs = [bl.train_epochs(net, digits, "bias", config) for net in nets]
    got = [[], []]
    for _ in range(config.epochs):
        for i, run in enumerate(runs):
            got[i].append(next(run))
    for i in range(2):
        assert [h["train_loss"] for h in got[i]] == [h["train_loss"] for h in want[i]]
        assert torch.equal(nets[i].hidden[0].bias, alone[i].hidden[0].bias)
        with pytest.raises(StopIteration):
            next(runs[i])
