"""The scaling-law experiment: the power-law fit recovers a known curve, its derived width and
intervals behave, and the quick run writes its table, fit and figure with the headline intact."""

import json
import math

import numpy as np
import pytest
import torch

from biaslearn.analysis import power_law
from biaslearn.cli import main
from biaslearn.errors import BiaslearnError


def test_fit_recovers_a_known_saturating_power_law():
    widths = np.array([256, 512, 1024, 2048, 4096, 8192, 16384])
    truth = (0.88, 3.0, 0.55)
    noise = np.random.default_rng(0).normal(0, 0.001, len(widths))
    f = power_law.fit(widths, power_law.curve(np.log10(widths), *truth) + noise)
    assert f.a == pytest.approx(0.88, abs=0.01) and f.alpha == pytest.approx(0.55, abs=0.08)
    assert f.residual_rms < 0.003
    target = 0.87
    need = f.width_for(target)
    assert f.predict(need) == pytest.approx(target, abs=1e-9)
    assert power_law.width_at(0.9, *truth) == math.inf  # above the asymptote: never reached
    lo, mid, hi = power_law.interval([power_law.width_at(target, *p) for p in power_law.draws(f, generator=torch.Generator().manual_seed(0))])
    assert lo <= need <= hi or hi == math.inf
    with pytest.raises(BiaslearnError, match=">= 4 widths"):
        power_law.fit([1, 2, 3], [0.1, 0.2, 0.3])


def test_quick_scaling_run(tmp_path, capsys):
    out = tmp_path / "scaling"
    assert main(["run", "scaling", "--quick", "--no-progress", "--out", str(out)]) == 0
    summary = json.loads((out / "fit.json").read_text())
    assert (out / "scaling.png").stat().st_size > 1000 and "width needed" in capsys.readouterr().out
    rows = [r for r in __import__("csv").DictReader(open(out / "results.csv"))]
    bias = {int(r["width"]): float(r["test_accuracy"]) for r in rows if r["method"] == "bias"}
    assert bias[512] > bias[64] + 0.1 and bias[64] > 0.15  # rises with width, above chance
    assert summary["fit"]["a"] >= max(v for w, v in bias.items() if w <= 512) - 0.05
    check = summary["checks"][0]
    assert check["width"] == 2048 and check["predicted_interval"][0] <= check["predicted"] <= check["predicted_interval"][1]
