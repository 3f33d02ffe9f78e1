import csv
import json
import subprocess
import sys

import pytest

from biaslearn.cli import main

TINY = ["--quick", "--no-progress", "--set", "dataset=digits", "--set", "widths=16,64", "--set", "epochs=2"]


def test_quick_run_writes_a_loadable_run_folder_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "compare", *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy (%)" in printed and "bias" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["experiment"] == "compare" and config["versions"]["torch"].startswith("2.13.0")
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 6 and (out / "accuracy_vs_width.png").stat().st_size > 1000
    acc = {(r["method"], int(r["width"])): float(r["test_accuracy"]) for r in rows}
    # the headline effect at this tiny scale: bias-only above chance (10 classes) and rising with width
    assert acc[("bias", 64)] > 0.2 and acc[("bias", 64)] > acc[("bias", 16)] + 0.1
    assert len(list(csv.DictReader(open(out / "candidates.csv")))) == 38  # bias 4 lr x 3 gains, readout 4, full 3; 2 widths
    summary = json.loads((out / "summary.json").read_text())
    # run again: complete, nothing recomputed
    assert main(["run", "compare", *TINY, "--out", str(out)]) == 0
    assert "already complete" in capsys.readouterr().out
    # lose the summary and one unit: only that unit is recomputed, same numbers
    (out / "summary.json").unlink()
    (out / "units" / "w64-bias-s0-lr0.03-g64" / "result.json").unlink()
    before = {p: p.stat().st_mtime_ns for p in out.glob("units/*/result.json")}
    assert main(["run", "compare", *TINY, "--out", str(out)]) == 0
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())
    assert json.loads((out / "summary.json").read_text()) == summary
    assert main(["plot", str(out)]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "nope"], "experiment: unknown 'nope'; valid: "),
        (["run", "--set", "methods=bias,sgd"], "methods: unknown 'sgd'"),
        (["run", "--set", "dataset=cifar", "--quick"], "dataset: unknown 'cifar'"),
        (["run", "--set", "wdth=3"], "unknown key(s) wdth; valid keys: "),
        (["run", "--set", "widths"], "--set: expected key=value, got 'widths'"),
        (["run", "--set", "widths=-4"], "widths: expected positive ints, got -4"),
        (["run", "--data-dir", "/no/such/dir"], "--data-dir: /no/such/dir is not a folder"),
        (["plot", "/no/such/run"], "has no config.json"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_with_status_2(argv, message, capsys, tmp_path):
    if argv[0] == "run":
        argv = [*argv, "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0 and "Traceback" not in err


def test_missing_data_files_from_the_shell(tmp_path):
    env = {"BIASLEARN_FASHION_MNIST_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "biaslearn.cli", "run", "--quick", "--out", str(tmp_path / "r")],
        capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("biaslearn: error: dataset fashion-mnist: no IDX files")
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0


def test_list(capsys):
    assert main(["list"]) == 0
    assert "compare" in capsys.readouterr().out


@pytest.mark.slow
def test_cli_run_killed_mid_run_resumes_to_identical_summary(tmp_path):
    import signal
    import time

    args = [sys.executable, "-m", "biaslearn.cli", "run", "compare", "--quick", "--no-progress",
            "--set", "epochs=4", "--set", "widths=256,1024"]
    subprocess.run([*args, "--out", str(tmp_path / "a")], check=True, capture_output=True)
    proc = subprocess.Popen([*args, "--out", str(tmp_path / "b")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # compare's units are whole candidates (resumed as units): kill once a few have finished
    while len(list((tmp_path / "b").glob("units/*/result.json"))) < 5 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "b" / "summary.json").exists()
    subprocess.run([*args, "--out", str(tmp_path / "b")], check=True, capture_output=True)
    a, b = (json.loads((tmp_path / x / "summary.json").read_text()) for x in "ab")
    assert a == b


def test_three_bad_inputs_a_new_user_tries(tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    cases = [
        (["run", "--quick", "--out", str(tmp_path / "missing" / "run")], "missing does not exist; create it first"),
        (["run", "--quick", "--out", str(tmp_path / "a_file" / "run")], "a_file is not a folder"),
        (["run", "--quick", "--set", "widths=2000000000", "--out", str(tmp_path / "huge")], "GiB available; use fewer units"),
        (["run", "--quick", "--set", "dataset=fashion-mnist+train:999999999", "--out", str(tmp_path / "many")],
         "fashion-mnist has 60,000 training samples; ask for at most"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert message in err and err.count("\n") == 0 and "Traceback" not in err, err
    assert not (tmp_path / "missing").exists()
    # the folder of a run that failed before computing anything takes a corrected config
    assert main(["run", "compare", *TINY, "--out", str(tmp_path / "many")]) == 0


def test_damaged_unit_results_are_recomputed_and_the_summary_verified(tmp_path, capsys, caplog):
    out = tmp_path / "run"
    assert main(["run", "compare", *TINY, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    garbled = out / "units" / "w16-readout-s0-lr0.01-g1" / "result.json"
    garbled.write_text('{"test_accuracy": 0.9')  # truncated mid-write by a crash of another tool
    edited = out / "units" / "w64-bias-s0-lr0.1-g16" / "result.json"
    result = json.loads(edited.read_text())
    edited.write_text(json.dumps({**result, "validation_accuracy": 0.99}))  # still valid JSON: caught by units.json
    before = {p: p.stat().st_mtime_ns for p in out.glob("units/*/result.json") if p not in (garbled, edited)}
    capsys.readouterr()
    assert main(["run", "compare", *TINY, "--out", str(out)]) == 0
    assert "already complete" not in capsys.readouterr().out
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 2 and any(str(garbled) in w for w in warned) and any(str(edited) in w for w in warned)
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # nothing good is recomputed
    assert json.loads((out / "summary.json").read_text()) == summary
    recomputed = json.loads(edited.read_text())
    assert {k: v for k, v in recomputed.items() if k != "seconds"} == {k: v for k, v in result.items() if k != "seconds"}


def test_verbose_logs_the_engines_choices_once_and_quiet_only_errors(tmp_path, capsys, caplog):
    import logging

    from biaslearn.engine import runner

    runner._announced.clear()
    with caplog.at_level(logging.INFO):
        assert main(["run", "compare", *TINY, "--verbose", "--out", str(tmp_path / "v")]) == 0
    choices = [r.getMessage() for r in caplog.records if r.getMessage().startswith("engine: kernel")]
    assert len(choices) == 1 and "cached rows" in choices[0] and "threads" in choices[0]  # 12 engine units, one line
    assert main(["run", "compare", *TINY, "--quiet", "--verbose", "--out", str(tmp_path / "q")]) == 2
    assert "pick one" in capsys.readouterr().err


def test_a_run_without_units_json_checks_each_result_once(tmp_path, capsys, caplog):
    """Runs finished before units.json existed: a garbled result gives one warning, not two."""
    out = tmp_path / "run"
    assert main(["run", "compare", *TINY, "--out", str(out)]) == 0
    (out / "units.json").unlink()
    garbled = out / "units" / "w16-readout-s0-lr0.01-g1" / "result.json"
    garbled.write_text("{")
    assert main(["run", "compare", *TINY, "--out", str(out)]) == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and str(garbled) in warned[0], warned
