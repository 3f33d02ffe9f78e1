"""Smoke tests of the engine benchmarks: engine_speed.py --quick runs and A and C reach the same
accuracy; kernel_ab.py builds and times each variant."""

import importlib.util
from pathlib import Path

import pytest

import biaslearn as bl
from biaslearn.engine import compiled


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


def test_kernel_ab_times_each_variant(capsys):
    """benchmarks/kernel_ab.py builds each variant (self-checked in a child process) and prints one
    timing line per variant; a bad variant spec is refused with the expected form."""
    try:
        bl.load_task("fashion-mnist")
    except bl.BiaslearnError:
        pytest.skip("Fashion-MNIST is not installed")
    try:
        compiled.compiler()
    except RuntimeError:
        pytest.skip("no C compiler")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "kernel_ab.py"
    spec = importlib.util.spec_from_file_location("kernel_ab", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--width", "40", "--subset", "600", "--rounds", "2", "--threads", "1",
                 "--variant", "base=", "--variant", "o2=-O2"])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "s/epoch" in line]
    assert [line.split()[0] for line in lines] == ["base", "o2"]
    with pytest.raises(SystemExit, match="expected name"):
        module.main(["--variant", "no-equals-sign"])
    with pytest.raises(SystemExit, match="variant broken: .* failed"):  # gcc refuses an unknown option
        module.main(["--width", "40", "--subset", "600", "--rounds", "2", "--variant", "broken=-fno-such-option"])

