"""The fast bias-only engine: cached first-layer projections, fused forward/backward kernels with
no weight gradients, a memory planner, and many bias vectors at once.

`biaslearn.training.train` uses it through `select_runner` (config.engine = auto | plain | fast)
for one-hidden-layer ReLU FeedForward nets with methods bias, bias+readout, readout and mask.
Settings (environment or `configure(...)`, see settings.py): BIASLEARN_ENGINE_MEMORY (budget for
cached rows, default 50% of MemAvailable), BIASLEARN_ENGINE_CACHE (auto | float32 | bfloat16 |
stream), BIASLEARN_ENGINE_KERNEL (auto | compiled | portable | torch), BIASLEARN_ENGINE_THREADS.
Choices are logged on the "biaslearn.engine" logger. Speed: docs/benchmarks.md."""

from biaslearn.engine.cache import clear_cache
from biaslearn.engine.runner import EngineRunner, select_runner, why_not
from biaslearn.engine.settings import configure

__all__ = ["select_runner", "EngineRunner", "why_not", "configure", "clear_cache"]
