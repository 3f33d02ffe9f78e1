"""The approximation experiment at quick scale: bias-only error falls with width; every method
ran on bitwise the same weights; figures and summary are written."""

import dataclasses

from biaslearn.experiments import approximation
from biaslearn.results import RunFolder


def test_quick_bias_learning_error_falls_with_width(tmp_path):
    config = dataclasses.replace(approximation.Config(), **approximation.QUICK)
    summary = approximation.run(config, RunFolder(tmp_path, show_progress=False))
    rows = RunFolder(tmp_path).read_json("scaling.json")["fits"]
    bias = next(r for r in rows if r["method"] == "bias")
    assert bias["l2_by_width"][1] < 0.5 * bias["l2_by_width"][0]
    assert bias["sup_by_width"][1] < bias["sup_by_width"][0]
    assert bias["l2_exponent"] < 0
    units = [RunFolder(tmp_path).sub(p.name).read_json("result.json") for p in (tmp_path / "units").iterdir()]
    for w in config.widths:
        assert len({u["initial_weights_sha256"] for u in units if u["width"] == w}) == 1  # same frozen net for all methods
    for name in ("error_vs_width.png", "fits_1d.png", "errors.csv", "fits_1d.npz"):
        assert (tmp_path / name).exists()
    assert summary["runs"] == len(config.widths) * len(config.methods)
