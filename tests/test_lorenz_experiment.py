import pytest

from biaslearn.experiments import lorenz
from biaslearn.results import RunFolder


def test_tiny_lorenz_run(tmp_path, monkeypatch):
    monkeypatch.setenv("BIASLEARN_CACHE_DIR", str(tmp_path / "cache"))
    config = lorenz.Config(units=48, samples=4000, iterations=4, eval_starts=5, eval_horizon_taus=2,
                           runs=("bias/closed", "readout/teacher"))
    summary = lorenz.run(config, RunFolder(tmp_path / "run", show_progress=False))
    facts = summary["series"]
    assert 20 <= facts["tau"] <= 27  # HWHM of x's autocorrelation at dt = 0.01, computed not hard-coded
    assert facts["lyapunov_time_steps"] == pytest.approx(1 / (0.9056 * 0.01))
    ridge = summary["by_run"]["readout/teacher"]
    # the echo-state baseline fits one step ahead far better than persistence
    assert ridge["teacher_one_step_nrmse"] < 0.5 * facts["persistence_one_step_nrmse"]
    assert ridge["trained_parameters"] == 49
    assert (tmp_path / "run" / "forecasts.png").exists() and (tmp_path / "run" / "errors.png").exists()
