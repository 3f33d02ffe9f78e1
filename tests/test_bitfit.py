"""Bias-only tuning (BitFit) of any PyTorch model and bias banks on it: only biases train, zero
biases can be added, a bank saved without the weights loads back to the last bit and refuses a
model whose weights differ."""

import pytest
import torch
from torch import nn

import biaslearn as bl


def _model(seed=0):
    """A stand-in for a pretrained model: its weights depend on `seed` alone (the global torch
    generator is restored afterwards)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(nn.Conv1d(2, 4, 3), nn.Flatten(), nn.LayerNorm(24), nn.Linear(24, 16, bias=False), nn.GELU(),
                             nn.Linear(16, 3))


def test_only_the_biases_train_and_the_counts_are_reported():
    model = _model()
    report = bl.bias_only(model)
    assert report.names == ("0.bias", "2.bias", "5.bias")  # LayerNorm's weight is a weight, its bias a bias
    assert report.trainable == 4 + 24 + 3 and report.total == sum(p.numel() for p in model.parameters())
    assert "trainable 31 of" in str(report)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(32, 2, 8), torch.randint(0, 3, (32,))
    for _ in range(5):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    moved = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert moved == set(report.names)
    assert all(p.grad is None for n, p in model.named_parameters() if n not in report.names)  # no weight gradients


def test_include_and_add_missing():
    model = _model()
    x = torch.randn(5, 2, 8)
    want = model(x)
    report = bl.bias_only(model, include="5.*", add_missing=True)
    assert report.added == ("3.bias",) and report.names == ("5.bias",)
    assert torch.equal(model(x), want)  # a zero bias changes nothing
    assert bl.bias_only(model, include=lambda n: n.startswith("3.")).names == ("3.bias",)
    with pytest.raises(bl.BiaslearnError, match="no bias matches include='encoder.*'; the model's biases: 0.bias"):
        bl.bias_only(model, include="encoder.*")
    with pytest.raises(bl.BiaslearnError, match="expected a torch.nn.Module"):
        bl.bias_only("model")


def test_bank_of_a_pretrained_models_biases_round_trips_bitwise(tmp_path):
    model = _model()
    report = bl.bias_only(model, add_missing=True)
    bank = bl.BiasBank(model, report.names)
    x = torch.randn(7, 2, 8)
    outputs = {}
    for task in ("a", "b"):
        with torch.no_grad():
            for name in report.names:
                dict(model.named_parameters())[name].normal_()
        bank.store(task)
        outputs[task] = model(x)
    path = bank.save(tmp_path / "bank.safetensors", weights=False)
    assert path.stat().st_size < 2_000  # biases and a checksum: no weights inside
    fresh = _model()
    bl.bias_only(fresh, add_missing=True)
    loaded = bl.BiasBank.load(path, fresh)
    for task in ("a", "b"):
        assert (loaded.use(task)(x) - outputs[task]).abs().max().item() == 0.0
    other = _model(seed=1)
    bl.bias_only(other, add_missing=True)
    with pytest.raises(bl.BiaslearnError, match="made for a network with weights sha256"):
        bl.BiasBank.load(path, other)
    with pytest.raises(bl.BiaslearnError, match="saved without its weights; pass the model"):
        bl.BiasBank.load(path)
    with pytest.raises(bl.BiaslearnError, match="are not parameters of the model"):
        bl.BiasBank(model, ["nope.bias"])
