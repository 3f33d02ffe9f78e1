"""fused.c under AddressSanitizer and UndefinedBehaviorSanitizer, every vector path this CPU runs.

Marked `sanitize` (run by .ci/run: `pytest -m sanitize -s`). Each path is built with the engine's
flags plus -fsanitize=address,undefined (no recovery), then a child Python with the ASan runtime
preloaded runs tests/kernel_fuzz.py on it: the self-check's agreement cases and 300 seeded
random shapes. Any sanitizer report fails the test, as does a mismatch or a crash. The log line
of each path names the CPU it ran on and the vector path it exercised."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from biaslearn.engine import compiled

SANITIZE = ["-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
CASES = 300
# path -> (build variant, extra flags, CPU flags needed); "avx2" is the AVX2 + FMA path on any
# CPU that has it, AVX-512 or not
PATHS = {
    "native": ("native", [], set()),
    "avx2": ("native", ["-mno-avx512f"], {"avx2", "fma"}),
    "portable": ("portable", [], set()),
}
REPORT = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer")


def _cpu() -> tuple[str, set[str]]:
    try:
        lines = open("/proc/cpuinfo").read().splitlines()
    except OSError:
        return platform.processor() or platform.machine(), set()
    model = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")), platform.machine())
    flags = next((set(l.split(":", 1)[1].split()) for l in lines if l.startswith("flags")), set())
    return model, flags


def _asan_runtime() -> str:
    found = subprocess.run([compiled.compiler(), "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not found or not os.path.isabs(found):
        pytest.fail(f"{compiled.compiler()} has no libasan.so (Debian: apt-get install libgcc-12-dev); got {found!r}")
    return found


@pytest.mark.sanitize
@pytest.mark.parametrize("path", sorted(PATHS))
def test_kernel_path_under_sanitizers(path, tmp_path):
    variant, extra, needs = PATHS[path]
    model, flags = _cpu()
    if extra and (platform.machine() not in ("x86_64", "AMD64") or not needs <= flags):
        pytest.skip(f"{model} cannot run the {path} path (needs {', '.join(sorted(needs))})")
    target = tmp_path / f"fused-{path}-sanitized.so"
    compiled.compile_source(compiled.SOURCE, variant, target, extra + SANITIZE)
    env = dict(os.environ, LD_PRELOAD=_asan_runtime(), ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")])))
    script = Path(__file__).with_name("kernel_fuzz.py")
    done = subprocess.run([sys.executable, str(script), str(target), "--cases", str(CASES), "--name", path],
                          capture_output=True, text=True, env=env, timeout=1800)
    output = done.stdout + done.stderr
    reports = REPORT.findall(output)
    simd = next((m.group(1) for m in [re.search(r"compiled-\S+?-(avx512|avx2)\b", output)] if m), "plain C loops")
    print(f"\nsanitized {path} build ({simd}) on {model}: self-check + {CASES} fuzz cases, exit {done.returncode}, "
          f"{len(reports)} sanitizer report(s)")
    assert done.returncode == 0 and not reports, output[-6000:]
    assert f"{CASES} fuzz cases agree" in done.stdout
