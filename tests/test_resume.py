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


@pytest.mark.parametrize("change, field", [
    (dict(config=dict(lr=3e-2)), "config.lr"),
    (dict(config=dict(epochs=2)), "config.epochs"),
    (dict(config=dict(batch_size=16)), "config.batch_size"),
    (dict(config=dict(seed=1)), "config.seed"),
    (dict(method="full"), "method"),
    (dict(task="digits+permuted:1"), "task"),
    (dict(net=dict(seed=2)), "weights"),
    (dict(net=dict(readout="uniform_fan_in:8")), "weights"),  # the readout alone differs
])
def test_checkpoint_of_another_run_is_refused_naming_the_field(digits, tmp_path, change, field):
    base = dict(epochs=1, batch_size=32, lr=1e-2, engine="plain")
    bl.train(_net(), digits, "bias", bl.TrainConfig(**base), checkpoint_dir=tmp_path)
    net = bl.feedforward(64, [64], 10, **{"seed": 1, "readout": "uniform_fan_in:4", **change.get("net", {})})
    task = bl.load_task(change["task"]) if "task" in change else digits
    config = bl.TrainConfig(**{**base, **change.get("config", {})})
    with pytest.raises(bl.BiaslearnError, match=rf"another run \(.*{field}: "):
        bl.train(net, task, change.get("method", "bias"), config, checkpoint_dir=tmp_path)


def test_corrupt_checkpoint_is_trained_again_with_a_warning(digits, tmp_path, caplog):
    config = bl.TrainConfig(epochs=1, engine="plain")
    want = bl.train(_net(), digits, "bias", config)
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    got = bl.train(_net(), digits, "bias", config, checkpoint_dir=tmp_path)
    assert "checkpoint.pt is unreadable" in caplog.text and len(caplog.records) == 1
    assert [h["train_loss"] for h in got] == [h["train_loss"] for h in want]
    again = bl.train(_net(), digits, "bias", config, checkpoint_dir=tmp_path)  # the rewritten checkpoint resumes
    assert [h["train_loss"] for h in again] == [h["train_loss"] for h in want]
