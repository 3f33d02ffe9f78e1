import copy

import pytest
import torch

import biaslearn as bl


@pytest.fixture(scope="module")
def trained_bank(digits):
    net = bl.feedforward(64, [256], 10, seed=3, weights="uniform_fan_in:1", readout="uniform_fan_in:16")
    bank = bl.BiasBank(net)
    config = bl.TrainConfig(epochs=5, batch_size=64, lr=1e-2, engine="plain")
    bl.train(net, digits, "bias", config)
    bank.store("digits")
    permuted = bl.load_task("digits+permuted:1")
    bl.train(net, permuted, "bias", config)
    bank.store("permuted")
    return net, bank, permuted


@pytest.fixture
def bank_with_two_tasks(trained_bank):
    return copy.deepcopy(trained_bank)  # tests may retrain the network


def test_switching_tasks_by_name(digits, bank_with_two_tasks):
    net, bank, permuted = bank_with_two_tasks
    acc = {}
    for name in bank.names():
        bank.use(name)
        acc[name] = {t.name: bl.evaluate(net, t.test, torch.nn.functional.cross_entropy)["accuracy"] for t in (digits, permuted)}
    # each bias vector is better on its own task than on the other one
    assert acc["digits"]["digits"] > acc["permuted"]["digits"] + 0.2
    assert acc["permuted"]["digits+permuted:1"] > acc["digits"]["digits+permuted:1"] + 0.2


def test_save_load_identical_outputs(bank_with_two_tasks, tmp_path):
    net, bank, _ = bank_with_two_tasks
    path = bank.save(tmp_path / "bank.safetensors")
    x = torch.rand(7, 64)
    loaded = bl.BiasBank.load(path)  # rebuilt from the saved spec and weights
    into_same = bl.BiasBank.load(path, model=bl.feedforward(64, [256], 10, seed=3, weights="uniform_fan_in:1", readout="uniform_fan_in:16"))
    for name in bank.names():
        expected = bank.use(name)(x)
        assert torch.equal(loaded.use(name)(x), expected)
        assert torch.equal(into_same.use(name)(x), expected)


def test_bank_refuses_other_weights_and_corrupt_files(bank_with_two_tasks, tmp_path):
    net, bank, _ = bank_with_two_tasks
    path = bank.save(tmp_path / "bank.safetensors")
    other = bl.feedforward(64, [256], 10, seed=4, weights="uniform_fan_in:1", readout="uniform_fan_in:16")
    with pytest.raises(bl.BiaslearnError, match="made for a network with weights sha256"):
        bl.BiasBank.load(path, model=other)
    readout_only = bl.feedforward(64, [256], 10, seed=3, weights="uniform_fan_in:1", readout="uniform_fan_in:4")
    assert torch.equal(readout_only.hidden[0].weight, net.hidden[0].weight)  # only the frozen readout differs
    with pytest.raises(bl.BiaslearnError, match="made for a network with weights sha256"):
        bl.BiasBank.load(path, model=readout_only)
    data = bytearray(path.read_bytes())
    (tmp_path / "truncated.safetensors").write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(bl.BiaslearnError, match="truncated or corrupt"):
        bl.BiasBank.load(tmp_path / "truncated.safetensors")
    data[-5] ^= 0xFF  # flip bits inside the stored tensors
    (tmp_path / "flipped.safetensors").write_bytes(bytes(data))
    with pytest.raises(bl.BiaslearnError, match="corrupt|checksum"):
        bl.BiasBank.load(tmp_path / "flipped.safetensors")
    with pytest.raises(bl.BiaslearnError, match="file not found"):
        bl.BiasBank.load(tmp_path / "missing.safetensors")


def test_bank_notices_changed_weights(bank_with_two_tasks, digits):
    net, bank, _ = bank_with_two_tasks
    bl.train(net, digits, "full", bl.TrainConfig(epochs=1, engine="plain"))
    with pytest.raises(bl.BiaslearnError, match="frozen weights changed"):
        bank.use("digits")
    with pytest.raises(bl.BiaslearnError, match="no task 'nope'"):
        bl.BiasBank(net).use("nope")
