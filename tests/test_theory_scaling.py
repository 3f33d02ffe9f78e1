import math

import numpy as np
import pytest
import torch

from biaslearn.errors import BiaslearnError
from biaslearn.theory.scaling import bound_width, first_passage_width, fit_power_law, success_probability, width_needed
from biaslearn.theory.targets import TARGETS, function_errors, grid, make_target


def test_power_law_fit_recovers_exponent():
    x = np.array([16, 64, 256, 1024])
    fit = fit_power_law(x, 3.0 * x**-0.5)
    assert fit["exponent"] == pytest.approx(-0.5) and fit["prefactor"] == pytest.approx(3.0) and fit["r2"] == pytest.approx(1)
    assert math.isnan(fit_power_law([1], [1])["exponent"])


def test_bound_width_growth_rates():
    base = bound_width(1e-3, 4, 1, 1.0, 2.0, 0.1)
    # (1/eps)^(d+1) asymptotically
    assert bound_width(1e-4, 4, 1, 1.0, 2.0, 0.1) / base == pytest.approx(100, rel=0.01)
    assert bound_width(1e-3, 4, 1, 1.0, 4.0, 0.1) / base == pytest.approx(4)
    assert bound_width(1e-3, 4, 1, 1.0, 0.9, 0.1) == math.inf  # target out of the sampling range
    with pytest.raises(BiaslearnError, match="expected eps > 0"):
        bound_width(0, 4, 1, 1.0, 2.0, 0.1)


def test_width_needed_quantile():
    widths = [10, 100, 1000]
    errors = [[0.5, 0.05, 0.01], [0.5, 0.5, 0.01], [0.01, 0.5, 0.01], [0.5, 0.5, 0.5]]
    assert first_passage_width(widths, errors[2], 0.1) == 1000  # must stay below eps
    assert first_passage_width(widths, errors[3], 0.1) == math.inf
    assert width_needed(widths, errors, 0.1, 0.5) == 1000
    assert width_needed(widths, errors[:3], 0.1, 0.5) == 1000
    assert width_needed(widths, errors[:1], 0.1, 0.5) == 100
    assert success_probability([0.1, 0.2, 0.3, 0.4], 0.25) == 0.5


def test_targets_and_errors():
    for dim in (1, 2):
        x = grid(dim, 11)
        assert x.shape == (11**dim, dim) and float(x.min()) == -1 and float(x.max()) == 1
        for name in TARGETS:
            y = make_target(name, dim, seed=1)(x)
            assert y.shape == (len(x), 1) and torch.isfinite(y).all()
    e = function_errors(torch.zeros(4, 1), torch.tensor([[1.0], [-1.0], [0.0], [0.0]]))
    assert e == {"sup": 1.0, "l1": 0.5, "l2": pytest.approx(math.sqrt(0.5))}
    with pytest.raises(BiaslearnError, match="target: unknown 'wavy'"):
        make_target("wavy", 1)
