import pytest
import torch

import biaslearn as bl


@pytest.fixture(scope="session")
def digits():
    """Real data, small: scikit-learn's 8x8 digits (1,437 train / 360 test, 64 features)."""
    return bl.load_task("digits")


@pytest.fixture
def tiny_task():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 12, generator=g)
    y = (x[:, 0] > x[:, 1]).long() + 2 * (x[:, 2] > 0.5).long()
    return bl.from_tensors("tiny", x[:150], y[:150], x[150:], y[150:])


def _hypothesis_profiles():
    """Property tests draw fresh examples locally; under CI=true the examples are derandomised, so
    a CI run is reproducible (the seed is the test's name)."""
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
    settings.register_profile("dev", deadline=None, print_blob=True)
    settings.load_profile("ci" if os.environ.get("CI") else "dev")


_hypothesis_profiles()
