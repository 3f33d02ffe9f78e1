"""`biaslearn report`: one self-contained HTML page; opened in headless Chromium every figure
loads and the console stays clean."""

import os
import shutil
import subprocess

import pytest

from biaslearn.cli import main

TINY = ["--quick", "--no-progress", "--set", "dataset=digits", "--set", "widths=16,64", "--set", "epochs=2"]


def _chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI"):
        pytest.fail("no chromium in CI: .ci/run should have installed it")
    pytest.skip("no chromium: apt-get install chromium (.ci/run installs it)")


def test_report_page_is_complete_and_loads_cleanly_in_chromium(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    assert main(["run", "compare", *TINY, "--out", str(runs / "compare-quick")]) == 0
    capsys.readouterr()
    assert main(["report", "--quick", "--only", "compare", "--runs", str(runs), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "ran none" in printed  # the existing run is read with its own config
    page = runs / "report-quick.html"
    text = page.read_text()
    for part in ("<h2>compare</h2>", "bias-only vs readout-only vs full", "test accuracy (%)", "wall time", "commit",
                 "data:image/png;base64,"):
        assert part in text, part
    assert "http://" not in text and "https://" not in text and 'src="file' not in text  # self-contained
    browser = _chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000
    dom = subprocess.run([browser, *flags, "--dump-dom", "--enable-logging=stderr", "--v=0", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True)
    images = text.count("<img ")
    assert images >= 1 and f'data-images="{images}/{images}"' in dom.stdout  # every figure decoded
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console


def test_report_refuses_unknown_experiments(capsys, tmp_path):
    assert main(["report", "--only", "nope", "--runs", str(tmp_path)]) == 2
    assert "unknown experiment(s) nope" in capsys.readouterr().err
