"""scikit-learn estimators: a frozen random hidden layer (or several) whose biases alone are
learned, usable in Pipeline, GridSearchCV and cross_val_score.

    from biaslearn.sklearn import BiasLearningClassifier
    clf = make_pipeline(StandardScaler(), BiasLearningClassifier(hidden_units=1024, random_state=0))

`method` picks what trains on the same frozen weights: "bias" (default), "readout" (random
features), "bias+readout", "full" or "mask". The frozen readout's gain g (C ~ U[-g/sqrt(N),
g/sqrt(N)]) matters for the methods that keep it frozen ("bias", "mask"): `readout_gain=None`
takes 16 for them and the standard fan-in readout (g = 1) for the others. Inputs are used as
given: standardise them first (StandardScaler), as for any neural network."""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from biaslearn.data import from_tensors
from biaslearn.errors import BiaslearnError
from biaslearn.models import NetworkSpec
from biaslearn.models.bank import bank_parameter_names
from biaslearn.models.feedforward import FeedForward
from biaslearn.training import METHODS, TrainConfig, get_method, train
from biaslearn.training.loop import loss_fn, plain_epoch
from biaslearn.training.selection import FROZEN_READOUT

FROZEN_READOUT_GAIN = 16.0  # default gain of the frozen readout for bias / mask learning


class _BiasLearningBase(BaseEstimator):
    """Shared fitting code; subclasses say how targets are encoded and decoded."""

    def __init__(self, hidden_units=1024, method="bias", weights="uniform_fan_in:1", readout_gain=None, epochs=100,
                 lr=0.03, batch_size=64, random_state=None, engine="auto"):
        self.hidden_units = hidden_units
        self.method = method
        self.weights = weights
        self.readout_gain = readout_gain
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state
        self.engine = engine

    # ---- subclass hooks ------------------------------------------------------------------------
    def _encode_targets(self, y, *, first: bool, classes=None) -> torch.Tensor:
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    # ---- fitting -------------------------------------------------------------------------------
    def _settings(self) -> tuple[tuple[int, ...], float]:
        if self.method not in METHODS:
            raise ValueError(f"method: unknown {self.method!r}; valid: {', '.join(METHODS)}")
        hidden = (self.hidden_units,) if isinstance(self.hidden_units, (int, np.integer)) else tuple(self.hidden_units)
        if not hidden or any(not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
            raise ValueError(f"hidden_units: expected a positive int or a sequence of them, got {self.hidden_units!r}")
        gain = self.readout_gain
        if gain is None:
            gain = FROZEN_READOUT_GAIN if self.method in FROZEN_READOUT else 1.0
        if not gain > 0:
            raise ValueError(f"readout_gain: expected a positive number, got {gain!r}")
        return tuple(int(h) for h in hidden), float(gain)

    def _build(self, n_features: int) -> int:
        hidden, gain = self._settings()
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        spec = NetworkSpec(n_features, hidden, self._n_outputs(), seed=seed, weights=self.weights,
                           readout=f"uniform_fan_in:{gain:g}", gated=self.method == "mask")
        self.network_ = FeedForward(spec)
        return seed

    def _config(self, seed: int, n_samples: int, epochs: int) -> TrainConfig:
        return TrainConfig(epochs=epochs, batch_size=min(int(self.batch_size), n_samples), lr=float(self.lr), seed=seed,
                           engine=self.engine)

    def _task(self, X, targets):
        x = torch.from_numpy(np.array(X, dtype=np.float32))  # a copy: X may be read-only
        n_classes = len(self.classes_) if hasattr(self, "classes_") else 0
        return from_tensors("sklearn", x, targets, x[:1], targets[:1], n_classes=n_classes)

    def _finish(self, history) -> None:
        params = dict(self.network_.named_parameters())
        self.biases_ = {k: params[k].detach().numpy().copy() for k in bank_parameter_names(self.network_)}
        self.history_ = [{k: v for k, v in h.items() if not k.startswith("test_")} for h in history]
        self.n_iter_ = len(self.history_)
        self.loss_ = self.history_[-1]["train_loss"] if self.history_ else float("nan")

    def _fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=not isinstance(self, ClassifierMixin),
                             multi_output=not isinstance(self, ClassifierMixin))
        targets = self._encode_targets(y, first=True)
        seed = self._build(X.shape[1])
        try:
            history = train(self.network_, self._task(X, targets), self.method, self._config(seed, len(X), int(self.epochs)))
        except BiaslearnError as exc:
            raise ValueError(str(exc)) from None
        self._optimizer = None  # partial_fit starts its own Adam state
        self._seed = seed
        self._finish(history)
        return self

    def _partial_fit(self, X, y, classes=None):
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first, y_numeric=not isinstance(self, ClassifierMixin),
                             multi_output=not isinstance(self, ClassifierMixin))
        targets = self._encode_targets(y, first=first, classes=classes)
        if first:
            self._seed = self._build(X.shape[1])
            self._optimizer = None
            self.history_ = []
        task = self._task(X, targets)
        config = self._config(self._seed, len(X), 1)
        params = get_method(self.method).apply(self.network_)
        if getattr(self, "_optimizer", None) is None:
            self._optimizer = torch.optim.Adam(params, lr=config.lr)
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(self._seed + len(self.history_)))
        loss = plain_epoch(self.network_, params, self._optimizer, task.train, order, loss_fn(task, config), config.batch_size)
        if not np.isfinite(loss):
            raise ValueError(f"training diverged (loss {loss}); lower lr (now {self.lr})")
        self._finish([*self.history_, {"epoch": len(self.history_), "train_loss": loss}])
        return self

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        net = self.network_.eval()
        with torch.no_grad():  # in float64: predictions do not depend on how inputs are batched
            return copy.deepcopy(net).double()(torch.as_tensor(X, dtype=torch.float64)).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class BiasLearningClassifier(ClassifierMixin, _BiasLearningBase):
    """Classifier: a frozen random network whose biases (by default) are trained with Adam on the
    cross-entropy. Fitted attributes: `classes_`, `network_` (the biaslearn FeedForward),
    `biases_` ({parameter name: array}: the learned bias vectors), `history_`, `n_iter_`, `loss_`."""

    def _encode_targets(self, y, *, first: bool, classes=None) -> torch.Tensor:
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if classes is None and len(self.classes_) < 2:
                raise ValueError(f"needs samples of at least 2 classes to fit; got 1 class ({self.classes_[0]!r})")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes: {np.unique(classes)} differ from the first partial_fit's {self.classes_}")
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"y holds labels {unknown[:5]} that are not in classes {self.classes_}")
        return torch.as_tensor(np.searchsorted(self.classes_, y), dtype=torch.int64)

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def fit(self, X, y):
        """Train on (X, y) for `epochs` epochs from a fresh frozen network."""
        return self._fit(X, y)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current state; the first call needs `classes`
        (every label that will ever appear)."""
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._partial_fit(X, y, classes)

    def predict_proba(self, X) -> np.ndarray:
        logits = self._outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]


class BiasLearningRegressor(RegressorMixin, _BiasLearningBase):
    """Regressor: a frozen random network whose biases (by default) are trained with Adam on the
    mean squared error; y of shape (n,) or (n, outputs). Fitted attributes: `network_`, `biases_`,
    `history_`, `n_iter_`, `loss_`, `n_outputs_`."""

    def _encode_targets(self, y, *, first: bool, classes=None) -> torch.Tensor:
        y = np.asarray(y, dtype=np.float64)
        if first:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(f"y has {1 if y.ndim == 1 else y.shape[1]} outputs, expected {self.n_outputs_}")
        return torch.as_tensor(y.reshape(len(y), -1), dtype=torch.float32)

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def fit(self, X, y):
        """Train on (X, y) for `epochs` epochs from a fresh frozen network."""
        return self._fit(X, y)

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current state."""
        return self._partial_fit(X, y)

    def predict(self, X) -> np.ndarray:
        out = self._outputs(X)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["BiasLearningClassifier", "BiasLearningRegressor"]
