"""A run killed mid-epoch resumes from its last checkpoint to the same final result."""


import signal
import subprocess
import sys
import textwrap

import pytest

import biaslearn as bl


CONFIG = bl.TrainConfig(epochs=3, batch_size=32, lr=1e-2, engine="plain")


def _net():
    return bl.feedforward(64, [64], 10, seed=1, readout="uniform_fan_in:4")


def test_killed_mid_epoch_resumes_to_identical_history(digits, tmp_path):
    reference = bl.train(_net(), digits, "bias", CONFIG)
    script = textwrap.dedent(
        f"""
        import os, signal, biaslearn as bl
        from biaslearn.training.loop import plain_epoch
        calls = []
        def dying(model, params, optimizer, split, order, loss, batch_size):
            calls.append(1)
            if len(calls) == 2:  # second epoch: do part of it, then die without warning
                plain_epoch(model, params, optimizer, split, order[:300], loss, batch_size)
                os.kill(os.getpid(), signal.SIGKILL)
            return plain_epoch(model, params, optimizer, split, order, loss, batch_size)
        net = bl.feedforward(64, [64], 10, seed=1, readout="uniform_fan_in:4")
        bl.train(net, bl.load_task("digits"), "bias", bl.TrainConfig(epochs=3, batch_size=32, lr=1e-2, engine="plain"),
                 checkpoint_dir={str(tmp_path)!r}, epoch_runner=dying)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (tmp_path / "checkpoint.pt").exists()
    resumed = bl.train(_net(), digits, "bias", CONFIG, checkpoint_dir=tmp_path)
    strip = lambda hs: [{k: v for k, v in h.items() if k != "seconds"} for h in hs]  # noqa: E731
    assert strip(resumed) == strip(reference)


def test_checkpoint_of_another_config_or_corrupt_is_refused(digits, tmp_path):
    bl.train(_net(), digits, "bias", bl.TrainConfig(epochs=1, engine="plain"), checkpoint_dir=tmp_path)
    with pytest.raises(bl.BiaslearnError, match="different run configuration"):
        bl.train(_net(), digits, "full", bl.TrainConfig(epochs=1, engine="plain"), checkpoint_dir=tmp_path)
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(bl.BiaslearnError, match="unreadable"):
        bl.train(_net(), digits, "bias", bl.TrainConfig(epochs=1, engine="plain"), checkpoint_dir=tmp_path)


