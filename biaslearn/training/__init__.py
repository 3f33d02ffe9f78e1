"""What trains (methods) and how (the loop, checkpoints)."""

from biaslearn.training.loop import TrainConfig, evaluate, train, train_epochs
from biaslearn.training.methods import METHODS, Method, get_method

__all__ = ["TrainConfig", "evaluate", "train", "train_epochs", "METHODS", "Method", "get_method"]
