"""fused.c under AddressSanitizer and UndefinedBehaviorSanitizer, every vector path this CPU runs.

Marked `sanitize` (run by .ci/run: `pytest -m sanitize -s`). Each path is built with the engine's
flags plus -fsanitize=address,undefined (no recovery), then a child Python with the ASan runtime
preloaded runs tests/kernel_fuzz.py on it: the self-check's agreement cases and 300 seeded
random shapes. Any sanitizer report fails the test, as does a mismatch or a crash. The log line
of each path names the CPU it ran on and the vector path it exercised."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from biaslearn.engine import compiled
from kernel_fuzz import VECTOR_BUILDS, can_run, cpu

SANITIZE = ["-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
CASES = 300
# path -> (build variant, extra flags): the engine's two builds, then every vector path of fused.c
# built explicitly (kernel_fuzz.VECTOR_BUILDS), each where this CPU can run it
PATHS = {"native": ("native", []), "portable": ("portable", [])}
PATHS.update({name: ("portable", flags) for name, (flags, _, _) in VECTOR_BUILDS.items()})
REPORT = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer")


def _asan_runtime() -> str:
    found = subprocess.run([compiled.compiler(), "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not found or not os.path.isabs(found):
        pytest.fail(f"{compiled.compiler()} has no libasan.so (Debian: apt-get install libgcc-12-dev); got {found!r}")
    return found


@pytest.mark.sanitize
@pytest.mark.parametrize("path", sorted(PATHS))
def test_kernel_path_under_sanitizers(path, tmp_path):
    variant, extra = PATHS[path]
    model = cpu()[0]
    if path in VECTOR_BUILDS and not can_run(path):
        pytest.skip(f"{model} cannot run the {path} path (needs {', '.join(sorted(VECTOR_BUILDS[path][1]))}): untested here")
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
    if path in VECTOR_BUILDS:  # the build really took the path it is named after
        assert simd == {512: "avx512", 256: "avx2"}[VECTOR_BUILDS[path][2]], simd
    assert f"{CASES} fuzz cases agree" in done.stdout
