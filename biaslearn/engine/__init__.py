"""The fast bias-only engine: cached first-layer projections, fused forward/backward kernels with
no weight gradients, a memory planner, and many bias vectors at once.

`biaslearn.training.train` uses it through `select_runner` (config.engine = auto | plain | fast)."""

from biaslearn.engine.cache import clear_cache
from biaslearn.engine.runner import EngineRunner, select_runner, why_not
from biaslearn.engine.settings import configure

__all__ = ["select_runner", "EngineRunner", "why_not", "configure", "clear_cache"]
