import pytest

from biaslearn.experiments import many_systems
from biaslearn.results import RunFolder


def test_one_frozen_network_many_bias_vectors(tmp_path, monkeypatch):
    pytest.importorskip("dysts")
    monkeypatch.setenv("BIASLEARN_CACHE_DIR", str(tmp_path / "cache"))
    config = many_systems.Config(systems=("Lorenz", "Rossler"), units=(32,), samples=1200, iterations=3,
                                 eval_starts=3, eval_steps=60)
    summary = many_systems.run(config, RunFolder(tmp_path / "run", show_progress=False))
    assert summary["one_frozen_network"]
    import numpy as np

    a = np.load(tmp_path / "run" / "units" / "Lorenz-n32-bias" / "result.npz")["b"]
    b = np.load(tmp_path / "run" / "units" / "Rossler-n32-bias" / "result.npz")["b"]
    assert a.shape == b.shape == (32,) and not np.array_equal(a, b)
    assert (tmp_path / "run" / "per_system.png").exists()
