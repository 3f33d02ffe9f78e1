"""Networks with frozen random weights: distributions, activations, feed-forward nets, gates."""

from biaslearn.models.feedforward import FeedForward, NetworkSpec, feedforward, weights_checksum
from biaslearn.models.gate import UnitGate
from biaslearn.models.init import WeightDistribution

__all__ = ["FeedForward", "NetworkSpec", "feedforward", "weights_checksum", "UnitGate", "WeightDistribution"]
