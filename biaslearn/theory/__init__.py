"""Theorem 1 made executable: targets on compact sets, the proof's construction (select units of a
wide random net, set their biases, switch the rest off) and the scaling of width with accuracy."""

from biaslearn.theory.construction import Construction, ConstructionConfig, construct, construct_from_weights
from biaslearn.theory.scaling import bound_width, fit_power_law, width_needed
from biaslearn.theory.targets import TARGETS, function_errors, grid, make_target, target_network

__all__ = [
    "Construction", "ConstructionConfig", "construct", "construct_from_weights", "bound_width", "fit_power_law",
    "width_needed", "TARGETS", "function_errors", "grid", "make_target", "target_network",
]
