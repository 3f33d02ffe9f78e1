"""Analyses of trained networks and their outputs: task variance, clustering of unit profiles,
correlations (feed-forward); forecast metrics, fixed points and Jacobians (recurrent)."""

from biaslearn.analysis.clusters import ClusterResult, cluster_profiles, cluster_strength, shuffled_strength
from biaslearn.analysis.task_variance import (
    hidden_activity,
    normalise_profiles,
    switched_off_fraction,
    task_variance,
    units_used,
)
from biaslearn.analysis.selectivity import selectivity
from biaslearn.analysis.correlation import rowwise_spearman, spearman, within_cluster_mean

__all__ = [
    "ClusterResult", "cluster_profiles", "cluster_strength", "shuffled_strength", "hidden_activity",
    "normalise_profiles", "switched_off_fraction", "task_variance", "units_used", "rowwise_spearman",
    "spearman", "within_cluster_mean", "selectivity",
]
