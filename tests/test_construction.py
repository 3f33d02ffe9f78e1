"""The construction experiment at quick scale: error falls with width, the width needed grows as
eps shrinks, R below the target's parameter range fails, figures are written."""

import dataclasses
import math

from biaslearn.experiments import construction
from biaslearn.results import RunFolder


def test_quick_construction_science(tmp_path):
    config = dataclasses.replace(construction.Config(), **construction.QUICK)
    summary = construction.run(config, RunFolder(tmp_path, show_progress=False))
    folder = RunFolder(tmp_path)
    for fit in summary["fits"]:
        assert fit["median_sup_vs_width_exponent"] < -0.2  # error falls with width
    needed = [r for r in _rows(tmp_path / "width_needed.csv") if float(r["R"]) == config.R and r["scheme"] == "single"]
    for n in config.target_units:
        by_eps = {float(r["eps"]): float(r["width_needed"]) for r in needed if int(r["units"]) == n}
        assert by_eps[0.05] >= by_eps[0.1]
        assert all(float(r["bound_width"]) >= float(r["width_needed"]) for r in needed)  # the bound is an upper bound
    sweep = {(r["scheme"], float(r["R"])): float(r["median_sup"]) for r in _rows(tmp_path / "r_sweep.csv")}
    assert sweep[("single", 0.5)] > sweep[("single", 2.0)]  # R < gamma: target weights out of reach
    small, large = (folder.read_json(f"units/gradient-w{w}-R2-s0/result.json") for w in (16, 256))
    assert math.isfinite(large["bias_sup"]) and large["bias_l2"] < small["bias_l2"]  # gradient bias learning improves too
    for name in ("construction_error_vs_width.png", "width_needed.png", "r_sweep.png", "construction_vs_gradient.png",
                 "construction_example.png"):
        assert (tmp_path / name).exists()


def _rows(path):
    import csv

    with open(path) as fh:
        return list(csv.DictReader(fh))
