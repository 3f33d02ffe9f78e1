"""Width sweep at a tiny scale: bias-only learning is far above chance and improves with width;
settings are chosen on the tuning seed and reused on the others; the run resumes without
retraining finished units."""

import csv
import dataclasses

import pytest

from biaslearn.errors import BiaslearnError
from biaslearn.experiments import width_sweep
from biaslearn.results import RunFolder

TINY = dict(dataset="fashion-mnist+train:5000", widths=(16, 1024), methods=("bias", "readout", "full"), weights=("gaussian:1",),
            seeds=(0, 1), epochs=4, max_width=("full=16",),
            learning_rates=("bias=0.03/0.1", "readout=0.01/0.03", "full=0.003"), gains=("bias=1/16",))


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
    chosen = {(r["method"], r["width"]): r for r in summary["table"]}
    assert chosen[("bias", 1024)]["gain"] == 16.0  # a large frozen-readout gain: the decisive knob of bias learning
    assert ("full", 1024) not in acc and ("full", 16) in acc  # max_width caps full training


def test_other_seeds_train_only_the_candidate_chosen_on_the_tuning_seed(tiny_run):
    folder, _, summary = tiny_run
    units = sorted(p.name for p in (folder.path / "units").iterdir())
    assert len([u for u in units if "-s0-" in u]) == 2 * 4 + 2 * 2 + 1  # every candidate on seed 0
    seed1 = [u for u in units if "-s1-" in u]
    assert len(seed1) == 2 + 2 + 1  # one per (width, method)
    for r in summary["table"]:
        assert f"gaussian1-w{r['width']}-{r['method']}-s1-lr{r['lr']:g}-g{r['gain']:g}" in seed1
    results = list(csv.DictReader(open(folder.path / "results.csv")))
    assert all(1 <= int(r["epoch"]) <= 4 for r in results)  # the epoch chosen on validation


def test_outputs_and_resume(tiny_run):
    folder, config, summary = tiny_run
    for name in ("results.csv", "candidates.csv", "summary_table.csv", "protocol.json", "accuracy_vs_width.png",
                 "accuracy_vs_parameters.png", "tuning_bias_gain.png"):
        assert (folder.path / name).exists(), name
    text = width_sweep.format_summary(summary)
    assert "at the grid's edge" in text  # two-value grids: every choice is at an edge, and the table says so
    unit = next((folder.path / "units").glob("gaussian1-w1024-bias-s1-*")) / "result.json"
    before = unit.stat().st_mtime_ns
    again = width_sweep.run(config, folder)
    assert unit.stat().st_mtime_ns == before
    assert again["table"] == summary["table"]


def test_config_errors():
    with pytest.raises(BiaslearnError, match="unknown 'mask'"):
        width_sweep.Config(methods=("mask",))
    with pytest.raises(BiaslearnError, match="max_width"):
        width_sweep.Config(max_width=("full",))
    with pytest.raises(BiaslearnError, match="tune_seeds"):
        width_sweep.Config(tune_seeds=(7,))
    with pytest.raises(BiaslearnError, match=r"no rates for method 'bias\+readout'"):
        width_sweep.Config(learning_rates=("bias=0.01",))
