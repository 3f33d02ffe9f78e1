import numpy as np

from biaslearn.experiments import cosine
from biaslearn.results import RunFolder


def test_quick_cosine_reaches_low_error_with_biases_only(tmp_path):
    config = cosine.Config(**cosine.QUICK)
    summary = cosine.run(config, RunFolder(tmp_path, show_progress=False))
    bias = summary["by_method"]["bias"]
    # target variance is 0.5: the bias-only network explains > 96% of it, also beyond the window
    assert bias["train_mse"] < 0.02 and bias["test_mse"] < 0.05
    assert bias["trained_parameters"] == 2 * config.units + 1  # b, r_0 and c
    end = np.load(tmp_path / "units" / "bias" / "end.npz")
    assert (tmp_path / "cosine.png").exists() and len(end["eigenvalues"]) == config.units
    assert bias["fixed_point_residual_end"] < 1e-8
