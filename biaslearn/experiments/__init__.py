"""Named experiments. Each is a module with NAME, DESCRIPTION, Config (frozen dataclass at the
paper's scale), QUICK (overrides for a seconds-to-minutes run) and run(config, folder) -> dict.
Add one line to EXPERIMENTS to register a new one."""

from __future__ import annotations

import importlib
from types import ModuleType

from biaslearn.errors import BiaslearnError

DEFAULT = "compare"

EXPERIMENTS: dict[str, str] = {
    "compare": "biaslearn.experiments.compare",
    "cosine": "biaslearn.experiments.cosine",
    "vanderpol-gain": "biaslearn.experiments.vanderpol_gain",
    "lorenz": "biaslearn.experiments.lorenz",
    "many-systems": "biaslearn.experiments.many_systems",
    "reaching": "biaslearn.experiments.reaching",
    "approximation": "biaslearn.experiments.approximation",
    "construction": "biaslearn.experiments.construction",
    "width-sweep": "biaslearn.experiments.width_sweep",
    "multitask": "biaslearn.experiments.multitask",
    "task-selectivity": "biaslearn.experiments.task_selectivity",
    "bias-vs-mask": "biaslearn.experiments.bias_vs_mask",
    "scaling": "biaslearn.experiments.scaling",
    "bitfit": "biaslearn.experiments.bitfit",
}


def get_experiment(name: str) -> ModuleType:
    if name not in EXPERIMENTS:
        raise BiaslearnError(f"experiment: unknown {name!r}; valid: {', '.join(sorted(EXPERIMENTS))}")
    return importlib.import_module(EXPERIMENTS[name])
