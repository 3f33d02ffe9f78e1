"""Smoke tests of the engine benchmarks: engine_speed.py --quick runs and A and C reach the same
accuracy; kernel_ab.py builds and times each variant."""

import importlib.util
import math
import subprocess
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
    """benchmarks/kernel_ab.py builds each variant (self-checked against torch) and prints one
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
                 "--variant", "base=", "--variant", "group4=-DGROUP=4 -DTILE=512"])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "s/epoch" in line]
    assert [line.split()[0] for line in lines] == ["base", "group4"]
    with pytest.raises(SystemExit, match="expected name"):
        module.main(["--variant", "no-equals-sign"])
    with pytest.raises(SystemExit, match="variant broken: .* failed"):  # an empty GROUP does not compile
        module.main(["--width", "40", "--subset", "600", "--rounds", "2", "--variant", "broken=-DGROUP="])


def test_epoch_harness_builds_and_times_epochs(tmp_path):
    """benchmarks/epoch_harness.c compiles against the kernel source and prints one line per epoch
    with a positive time and a first-batch loss that starts near ln 10 and falls; bad arguments get
    the usage line and exit status 2."""
    try:
        cc = compiled.compiler()
    except RuntimeError:
        pytest.skip("no C compiler")
    root = Path(__file__).resolve().parents[1]
    exe = tmp_path / "epoch_harness"
    build = subprocess.run([cc, "-O2", "-fopenmp", f"-I{root / 'biaslearn' / 'engine'}",
                            str(root / "benchmarks" / "epoch_harness.c"), "-o", str(exe), "-lm"],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe), "4", "600", "1"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("R=4 count=600 threads=1:")]
    assert len(lines) == 4
    assert all(float(line.split(":")[1].split()[0]) > 0 for line in lines)
    losses = [float(line.rsplit(" ", 1)[1]) for line in lines]
    assert abs(losses[0] - math.log(10)) < 0.5  # 10 random labels, readout weights of 0.01 at most
    assert losses[-1] < losses[0] - 0.05  # Adam on the biases learns the 4 rows' labels
    bad = subprocess.run([str(exe), "0", "600", "1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr
