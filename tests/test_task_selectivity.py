"""Task selectivity of a small bias bank: units cluster by task far better than shuffled profiles."""

import dataclasses

import pytest

from biaslearn.experiments import task_selectivity
from biaslearn.results import RunFolder

TINY = dict(tasks=("mnist-subset", "digits28", "mnist-subset+permuted:1", "mnist-subset+rotated:90"), fallbacks=(),
            n_tasks=4, width=512, seeds=(0,), epochs=4, lrs=("bias=0.05",), samples=300, k_max=6,
            multihead_width=64, multihead_epochs=1)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = RunFolder(tmp_path_factory.mktemp("ts"), show_progress=False)
    config = dataclasses.replace(task_selectivity.Config(), **TINY)
    return folder, task_selectivity.run(config, folder)


def test_clusters_align_with_tasks_better_than_shuffled(tiny_run):
    _, summary = tiny_run
    s = summary["bias_bank"]["0"]
    assert s["cluster_strength"] > s["shuffled_strength"] + 0.1
    assert 2 <= s["k"] <= 6


def test_outputs(tiny_run):
    folder, summary = tiny_run
    for name in ("task_variance_clusters.png", "silhouette.png", "bias_distribution.png", "selectivity.json"):
        assert (folder.path / name).exists(), name
    assert set(summary["bias_bank"]["0"]["switched_off"]) == set(summary["tasks"])
    assert "multihead" in summary and summary["multihead"]["k"] >= 2
