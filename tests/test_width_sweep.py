"""Width sweep at a tiny scale: bias-only learning is far above chance and improves with width;
the run resumes without retraining finished units."""

import dataclasses

import pytest

from biaslearn.errors import BiaslearnError
from biaslearn.experiments import width_sweep
from biaslearn.results import RunFolder

TINY = dict(dataset="fashion-mnist+train:5000", widths=(16, 1024), methods=("bias", "readout"), weights=("gaussian:1",),
            seeds=(0, 1), epochs=5, lrs=(0.03, 0.1), gains=(1.0, 16.0), tune_width=256, tune_epochs=1)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = RunFolder(tmp_path_factory.mktemp("ws"), show_progress=False)
    config = dataclasses.replace(width_sweep.Config(), **TINY)
    return folder, config, width_sweep.run(config, folder)


def test_bias_learning_far_above_chance_and_rising_with_width(tiny_run):
    _, _, summary = tiny_run
    acc = {(r["method"], r["width"]): r["accuracy_mean"] for r in summary["table"]}
    assert acc[("bias", 1024)] > 0.55  # chance is 0.1
    assert acc[("bias", 1024)] > acc[("bias", 16)] + 0.15
    # tuning prefers a large frozen-readout gain for bias learning (the decisive knob)
    assert summary["chosen"]["gaussian:1|bias"]["gain"] == 16.0


def test_outputs_and_resume(tiny_run):
    folder, config, summary = tiny_run
    for name in ("results.csv", "tuning.csv", "chosen.json", "accuracy_vs_width.png", "accuracy_vs_parameters.png", "tuning_bias_gain.png"):
        assert (folder.path / name).exists(), name
    unit = folder.path / "units" / "run-gaussian1-bias-w1024-s0" / "result.json"
    before = unit.stat().st_mtime_ns
    again = width_sweep.run(config, folder)
    assert unit.stat().st_mtime_ns == before
    assert again["table"] == summary["table"]


def test_config_errors():
    with pytest.raises(BiaslearnError, match="unknown 'mask'"):
        width_sweep.Config(methods=("mask",))
    with pytest.raises(BiaslearnError, match="max_width"):
        width_sweep.Config(max_width=("full",))
