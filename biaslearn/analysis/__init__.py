"""Analyses of trained networks and their outputs: task variance, clustering of unit profiles,
correlations and their nulls (feed-forward); forecast metrics, fixed points and Jacobians (recurrent)."""

from biaslearn.analysis.clusters import ClusterResult, cluster_profiles, cluster_strength, shuffled_strength, shuffled_strengths
from biaslearn.analysis.task_variance import (
    hidden_activity,
    normalise_profiles,
    switched_off_fraction,
    task_variance,
    units_used,
)
from biaslearn.analysis.selectivity import selectivity
from biaslearn.analysis.nulls import (
    UNTRAINED_MODES,
    describe,
    label_shuffle_null,
    permutation_p,
    spearman_statistics,
    task_variance_with_biases,
    untrained_biases,
)
from biaslearn.analysis.correlation import rowwise_spearman, spearman, within_cluster_mean

__all__ = [
    "ClusterResult", "cluster_profiles", "cluster_strength", "shuffled_strength", "hidden_activity",
    "normalise_profiles", "switched_off_fraction", "task_variance", "units_used", "rowwise_spearman",
    "spearman", "within_cluster_mean", "selectivity", "shuffled_strengths", "UNTRAINED_MODES", "describe",
    "label_shuffle_null", "permutation_p", "spearman_statistics", "task_variance_with_biases", "untrained_biases",
]
