from biaslearn.experiments import vanderpol_gain as vdp
from biaslearn.results import RunFolder


def test_equal_parameter_counts_and_outputs(tmp_path):
    config = vdp.Config(gains=(0.5,), seeds=(0,), iterations=5, train_steps=30, test_steps=20, full_units=6)
    summary = vdp.run(config, RunFolder(tmp_path, show_progress=False))
    counts = summary["trained_parameters"]
    assert counts["bias"] == counts["full"] == 6 * 6 + 4 * 6 + 2
    assert summary["units"] == {"bias": 30, "full": 6}
    assert (tmp_path / "mse_vs_gain.png").exists() and (tmp_path / "traces.png").exists()
