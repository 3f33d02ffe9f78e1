"""Smoke test of benchmarks/engine_speed.py --quick: it runs and A and C reach the same accuracy."""

import importlib.util
from pathlib import Path

import pytest

import biaslearn as bl


def test_engine_speed_quick(capsys):
    try:
        bl.load_task("fashion-mnist")
    except bl.BiaslearnError:
        pytest.skip("Fashion-MNIST is not installed")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "engine_speed.py"
    spec = importlib.util.spec_from_file_location("engine_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--quick", "--threads", "1"])
    out = capsys.readouterr().out
    assert "A/C" in out and "wall time" in out
    for width, r in results["widths"].items():
        assert r["A"]["test_accuracy"] == pytest.approx(r["C"]["test_accuracy"], abs=0.002)
        assert r["C"]["storage"] == "float32" and r["C_bf16"]["storage"] == "bfloat16"
