"""A compiled build is first run in a child process; its verdict is kept next to the build.

The first time a build (fused-VARIANT-DIGEST.so, named by its sources, flags, compiler and CPU) is
used on a machine, `verdict` runs `python -m biaslearn.engine.selfcheck VARIANT PATH` in a child
process with a timeout. A crash (a signal), a hang (the timeout) or a mismatch with the PyTorch
kernel marks the build bad; otherwise good. The verdict is written atomically beside the build
(same name, `.verdict.json`) and later runs read it instead of testing again; a verdict made by
another version of the check, or of torch, is made anew. Only a good build is loaded into the
user's process: a kernel that faults kills the child, never the caller.

BIASLEARN_REQUIRE_COMPILED=1 (set by CI) makes a build that fails to compile or is judged bad an
error instead of a fallback; BIASLEARN_SELFCHECK_TIMEOUT (seconds, default 300) bounds the child."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from biaslearn.errors import BiaslearnError

CHECK_SOURCE = Path(__file__).with_name("selfcheck.py")
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Verdict:
    good: bool
    reason: str  # "" when good; else what happened, in one line
    checked_with: str  # the check's and torch's identity: another one makes the verdict stale
    seconds: float


def required() -> bool:
    """Whether a compiled build that cannot be built or fails its check is an error (CI)."""
    return os.environ.get("BIASLEARN_REQUIRE_COMPILED", "").strip().lower() not in ("", "0", "false", "no")


def timeout() -> float:
    text = os.environ.get("BIASLEARN_SELFCHECK_TIMEOUT", "")
    try:
        return float(text) if text else DEFAULT_TIMEOUT
    except ValueError:
        raise BiaslearnError(f"BIASLEARN_SELFCHECK_TIMEOUT: expected seconds, got {text!r}") from None


def _checked_with() -> str:
    return hashlib.sha256(CHECK_SOURCE.read_bytes() + torch.__version__.encode()).hexdigest()[:16]


def verdict_path(build: Path) -> Path:
    return build.with_name(build.name + ".verdict.json")


def read(build: Path) -> Verdict | None:
    """The stored verdict of `build`, or None (none yet, unreadable, or made by another check)."""
    try:
        stored = Verdict(**json.loads(verdict_path(build).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return stored if stored.checked_with == _checked_with() else None


def _write(build: Path, v: Verdict) -> None:
    target = verdict_path(build)
    with tempfile.NamedTemporaryFile("w", dir=target.parent, suffix=".tmp", delete=False) as f:
        json.dump(asdict(v), f)
    os.replace(f.name, target)


def _describe(code: int, stderr: str) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"crashed ({name})"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return f"failed (exit {code}): {lines[-1] if lines else 'no message'}"


def run_check(variant: str, build: Path) -> Verdict:
    """Run the self-check of `build` in a child process; never raises for what the child does."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    limit = timeout()
    try:
        done = subprocess.run([sys.executable, "-m", "biaslearn.engine.selfcheck", variant, str(build)],
                              capture_output=True, text=True, timeout=limit, env=env, stdin=subprocess.DEVNULL)
        reason = "" if done.returncode == 0 else _describe(done.returncode, done.stderr)
    except subprocess.TimeoutExpired:
        reason = f"hung (no answer in {limit:g} s)"
    return Verdict(good=not reason, reason=reason, checked_with=_checked_with(), seconds=round(time.perf_counter() - start, 2))


def verdict(variant: str, build: Path) -> Verdict:
    """The build's stored verdict, or a new one from a child process (then stored)."""
    stored = read(build)
    if stored is not None:
        return stored
    v = run_check(variant, build)
    try:
        _write(build, v)
    except OSError:
        pass  # a read-only cache: the check runs again next time
    return v
