"""biaslearn: neural networks with frozen random weights whose biases alone are learned
(Williams, Payeur, Ryoo, Jiralerspong, Perich, Mazzucato, Lajoie, ICLR 2025).

    import biaslearn as bl
    net = bl.feedforward(784, [4096], 10, seed=0, readout="uniform_fan_in:16")
    history = bl.train(net, bl.load_task("fashion-mnist"), "bias", bl.TrainConfig(epochs=5))
"""

__version__ = "0.1.0"

from biaslearn.data import Task, from_tensors, load_task
from biaslearn.errors import BiaslearnError
from biaslearn.forecaster import Forecaster
from biaslearn.models import FeedForward, NetworkSpec, WeightDistribution, feedforward
from biaslearn.models.bank import BiasBank
from biaslearn.models.bitfit import BiasOnly, bias_only
from biaslearn.training import METHODS, TrainConfig, evaluate, get_method, train, train_epochs

__all__ = [
    "Task", "from_tensors", "load_task", "BiaslearnError", "Forecaster", "FeedForward", "NetworkSpec",
    "WeightDistribution", "feedforward", "BiasBank", "bias_only", "BiasOnly", "METHODS", "TrainConfig", "evaluate",
    "get_method", "train", "train_epochs",
]
