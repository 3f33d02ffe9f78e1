"""The memory planner: float32 cache, bfloat16 cache or streaming, from a byte budget.

A cache holds one row of `units` (padded to a multiple of 16) per sample. The planner takes the
most precise storage whose rows (all splits that will be cached) fit the budget:
float32 (4 bytes/value), else bfloat16 (2 bytes/value, about 3 significant digits; see
docs/benchmarks.md for its measured accuracy effect), else streaming (rows recomputed per batch
from the inputs, memory O(batch x units)). The budget defaults to a share of MemAvailable, so a
cache never pushes the machine out of memory; the choice is logged on "biaslearn.engine"."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from biaslearn.engine import settings as engine_settings
from biaslearn.memory import available_bytes

log = logging.getLogger("biaslearn.engine")

BYTES = {"float32": 4, "bfloat16": 2}


def padded(units: int) -> int:
    return (units + 15) // 16 * 16


def default_budget() -> int:
    """BUDGET_SHARE of (MemAvailable + what the engine's own store holds, which it can free)."""
    from biaslearn.engine.cache import stored_bytes

    return int(engine_settings.BUDGET_SHARE * (available_bytes() + stored_bytes()))


@dataclass(frozen=True)
class Plan:
    storage: str  # float32 | bfloat16 | stream
    bytes: int  # bytes the cached rows take (0 when streaming)
    budget: int
    reason: str


def plan_cache(rows: int, units: int, *, budget: int | None = None, mode: str | None = None) -> Plan:
    """Choose the storage for `rows` cached rows of `units` values (padded to 16)."""
    s = engine_settings.current()
    budget = s.memory_budget if budget is None else budget
    budget = default_budget() if budget is None else budget
    mode = s.cache if mode is None else mode
    need = {k: rows * padded(units) * v for k, v in BYTES.items()}
    if mode in BYTES:
        plan = Plan(mode, need[mode], budget, f"forced {mode} ({need[mode] / 2**20:.0f} MiB)")
    elif mode == "stream":
        plan = Plan("stream", 0, budget, "forced streaming")
    elif need["float32"] <= budget:
        plan = Plan("float32", need["float32"], budget, f"float32 rows {need['float32'] / 2**20:.0f} MiB fit the budget")
    elif need["bfloat16"] <= budget:
        plan = Plan("bfloat16", need["bfloat16"], budget,
                    f"float32 rows ({need['float32'] / 2**20:.0f} MiB) exceed the budget; bfloat16 ({need['bfloat16'] / 2**20:.0f} MiB) fits")
    else:
        plan = Plan("stream", 0, budget, f"even bfloat16 rows ({need['bfloat16'] / 2**20:.0f} MiB) exceed the budget; streaming")
    log.debug("engine cache plan: %s for %d rows x %d units (budget %.0f MiB): %s",
             plan.storage, rows, units, budget / 2**20, plan.reason)
    return plan
