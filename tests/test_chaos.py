"""Chaos: a sweep of 38 units killed with SIGKILL three times at random points (the driver and
every process it started), then run to the end, gives a summary identical to an uninterrupted
run, with the local executor and with Ray."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

ARGS = [sys.executable, "-m", "biaslearn.cli", "run", "compare", "--quick", "--no-progress",
        "--set", "dataset=digits", "--set", "widths=16,64", "--set", "epochs=2"]  # 38 units


def _finished(folder) -> int:
    return len(list(folder.glob("units/*/result.json")))


def _kill_after(command, folder, units: int, timeout: float = 600) -> int:
    """Start `command`, SIGKILL its whole process group once `units` units are finished; returns
    how many were finished at the kill."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    start = time.monotonic()
    while _finished(folder) < units and proc.poll() is None and time.monotonic() - start < timeout:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return _finished(folder)


@pytest.mark.parametrize("executor", ["local", pytest.param("ray", marks=pytest.mark.slow)])
def test_three_sigkills_at_random_points_then_the_same_summary(tmp_path, executor):
    command = [*ARGS, "--executor", executor]
    subprocess.run([*command, "--out", str(tmp_path / "whole")], check=True, capture_output=True)
    folder = tmp_path / "killed"
    points = sorted(random.Random(f"chaos/{executor}").sample(range(2, 36), 3))
    seen = [_kill_after([*command, "--out", str(folder)], folder, k) for k in points]
    assert not (folder / "summary.json").exists(), "a kill came after the end"
    assert seen == sorted(seen) and seen[-1] < 38
    subprocess.run([*command, "--out", str(folder)], check=True, capture_output=True)
    whole, killed = (json.loads((tmp_path / x / "summary.json").read_text()) for x in ("whole", "killed"))
    assert killed == whole, (points, seen)
    print(f"{executor}: killed at {points} finished units (saw {seen}); summaries identical")
