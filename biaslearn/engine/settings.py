"""Engine settings: memory budget, cache precision and kernel choice, set by environment or code.

Environment (read on each use): BIASLEARN_ENGINE_MEMORY (bytes, or e.g. "8GiB", "512MiB"),
BIASLEARN_ENGINE_CACHE (auto | float32 | bfloat16 | stream), BIASLEARN_ENGINE_KERNEL
(auto | compiled | portable | torch), BIASLEARN_ENGINE_THREADS (default: torch.get_num_threads()).
`configure(...)` overrides them for a block of code (tests, benchmarks)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace

from biaslearn.errors import BiaslearnError

CACHE_MODES = ("auto", "float32", "bfloat16", "stream")
KERNELS = ("auto", "compiled", "portable", "torch")
BUDGET_SHARE = 0.5  # default budget: this share of MemAvailable


@dataclass(frozen=True)
class EngineSettings:
    memory_budget: int | None = None  # bytes for cached rows; None: BUDGET_SHARE of MemAvailable
    cache: str = "auto"
    kernel: str = "auto"
    threads: int | None = None

    def __post_init__(self):
        if self.memory_budget is not None and (not isinstance(self.memory_budget, int) or self.memory_budget < 0):
            raise BiaslearnError(f"memory_budget: expected a non-negative int of bytes, got {self.memory_budget!r}")
        if self.cache not in CACHE_MODES:
            raise BiaslearnError(f"cache: unknown {self.cache!r}; valid: {', '.join(CACHE_MODES)}")
        if self.kernel not in KERNELS:
            raise BiaslearnError(f"kernel: unknown {self.kernel!r}; valid: {', '.join(KERNELS)}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise BiaslearnError(f"threads: expected a positive int, got {self.threads!r}")


_override: EngineSettings | None = None


def parse_bytes(text: str) -> int:
    units = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 10**3, "mb": 10**6, "gb": 10**9, "b": 1}
    low = str(text).strip().lower()
    for suffix, factor in units.items():
        if low.endswith(suffix):
            try:
                return int(float(low[: -len(suffix)]) * factor)
            except ValueError:
                break
    try:
        return int(float(low))
    except ValueError:
        raise BiaslearnError(f"memory budget: expected bytes like 8GiB or 500MiB, got {text!r}") from None


def current() -> EngineSettings:
    if _override is not None:
        return _override
    env = os.environ
    budget = env.get("BIASLEARN_ENGINE_MEMORY")
    threads = env.get("BIASLEARN_ENGINE_THREADS")
    return EngineSettings(
        memory_budget=parse_bytes(budget) if budget else None,
        cache=env.get("BIASLEARN_ENGINE_CACHE", "auto"),
        kernel=env.get("BIASLEARN_ENGINE_KERNEL", "auto"),
        threads=int(threads) if threads else None,
    )


@contextlib.contextmanager
def configure(**changes):
    """`with configure(cache="stream", memory_budget=2**20): ...` (keys: EngineSettings fields)."""
    global _override
    previous = _override
    _override = replace(current(), **changes)
    try:
        yield _override
    finally:
        _override = previous
