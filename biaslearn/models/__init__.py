"""Networks with frozen random weights: distributions, activations, feed-forward and recurrent nets, gates."""

from biaslearn.models.feedforward import FeedForward, NetworkSpec, feedforward, weights_checksum
from biaslearn.models.gate import UnitGate
from biaslearn.models.init import WeightDistribution
from biaslearn.models.recurrent import RecurrentNet, RecurrentSpec, recurrent

__all__ = ["FeedForward", "NetworkSpec", "feedforward", "weights_checksum", "UnitGate", "WeightDistribution", "RecurrentNet", "RecurrentSpec", "recurrent"]
