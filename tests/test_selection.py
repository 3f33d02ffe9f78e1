"""The validation protocol of the feed-forward comparisons (biaslearn/training/selection.py and
its use by `compare`): per-method candidates, the held-out split, best epoch and candidate by
validation only, the same frozen hidden weights whatever the method's settings."""

import pytest
import torch

import biaslearn as bl
from biaslearn.experiments import ffnet
from biaslearn.experiments.ffnet import build
from biaslearn.training import selection


def test_candidates_search_the_gain_only_where_the_readout_is_frozen():
    assert selection.candidates("bias", (0.01, 0.1), (4, 16)) == [(0.01, 4.0), (0.1, 4.0), (0.01, 16.0), (0.1, 16.0)]
    assert selection.candidates("full", (1e-3,), (4, 16)) == [(1e-3, 1.0)]
    assert selection.candidates("readout", (1e-3, 1e-2), (64,)) == [(1e-3, 1.0), (1e-2, 1.0)]
    with pytest.raises(bl.BiaslearnError, match="at least one learning rate"):
        selection.candidates("bias", (), (4,))


def test_validation_split_is_held_out_and_the_test_split_untouched(tiny_task):
    train_part, validation = selection.split_validation(tiny_task, 0.2)
    assert len(train_part.train) + len(validation) == len(tiny_task.train) and len(validation) == 30
    assert torch.equal(train_part.test.x, tiny_task.test.x)
    rows = {tuple(r.tolist()) for r in train_part.train.x}
    assert not any(tuple(r.tolist()) in rows for r in validation.x)  # disjoint
    again, validation2 = selection.split_validation(tiny_task, 0.2)
    assert torch.equal(validation.x, validation2.x)  # the same held-out samples for every method


def test_best_epoch_and_candidate_follow_validation_never_test():
    history = [{"epoch": 0, "validation_accuracy": 0.5, "test_accuracy": 0.9},
               {"epoch": 1, "validation_accuracy": 0.7, "test_accuracy": 0.6},
               {"epoch": 2, "validation_accuracy": 0.7, "test_accuracy": 0.8}]
    assert selection.best_epoch(history)["epoch"] == 1  # the earlier of tied epochs, whatever test says
    rows = [dict(width=8, method="bias", seed=0, lr=lr, gain=16.0, epoch=1, validation_accuracy=v, test_accuracy=t,
                 trained_parameters=18, seconds=1.0) for lr, v, t in ((0.01, 0.6, 0.95), (0.1, 0.8, 0.5))]
    chosen = ffnet.chosen_rows(rows)
    assert len(chosen) == 1 and chosen[0]["lr"] == 0.1 and chosen[0]["test_accuracy"] == 0.5
    with pytest.raises(bl.BiaslearnError, match="no 'validation_accuracy'"):
        selection.best_epoch([{"epoch": 0, "test_accuracy": 1.0}])


def test_every_method_and_gain_sees_bitwise_the_same_hidden_weights():
    nets = [build(30, 50, 4, seed=3, weights="uniform_fan_in:1", gain=g) for g in (1.0, 4.0, 64.0)]
    for net in nets[1:]:
        assert torch.equal(net.hidden[0].weight, nets[0].hidden[0].weight)
        assert torch.equal(net.hidden[0].bias, nets[0].hidden[0].bias)
    assert not torch.equal(nets[1].readout.weight, nets[0].readout.weight)


def test_training_records_validation_every_epoch(tiny_task):
    train_part, validation = selection.split_validation(tiny_task, 0.2)
    net = bl.feedforward(train_part.in_features, [32], train_part.out_features, seed=0)
    history = bl.train(net, train_part, "bias", bl.TrainConfig(epochs=2, lr=1e-2), extra_splits={"validation": validation})
    assert all({"validation_accuracy", "validation_loss", "test_accuracy"} <= set(h) for h in history)
    plain = bl.feedforward(train_part.in_features, [32], train_part.out_features, seed=0)
    want = bl.train(plain, train_part, "bias", bl.TrainConfig(epochs=2, lr=1e-2, engine="plain"), extra_splits={"validation": validation})
    assert [h["validation_accuracy"] for h in history] == [h["validation_accuracy"] for h in want]
