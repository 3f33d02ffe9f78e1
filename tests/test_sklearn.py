"""The scikit-learn estimators pass scikit-learn's own estimator checks, work in GridSearchCV and
cross_val_score, learn from partial_fit, and expose the learned bias vectors."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from biaslearn.sklearn import BiasLearningClassifier, BiasLearningRegressor

# Checks expected to fail, each with its reason (none so far).
EXPECTED_FAILURES: dict[str, str] = {}


def _expected_failures(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks([BiasLearningClassifier(random_state=0),
                          BiasLearningRegressor(random_state=0)],
                         expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


def test_grid_search_over_width_and_readout_gain_on_digits(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), BiasLearningClassifier(epochs=30, random_state=0))
    grid = GridSearchCV(pipe, {"biaslearningclassifier__hidden_units": [64, 1024],
                               "biaslearningclassifier__readout_gain": [1.0, 16.0]}, cv=3)
    grid.fit(X, y)
    scores = dict(zip(map(lambda p: tuple(p.values()), grid.cv_results_["params"]), grid.cv_results_["mean_test_score"]))
    assert grid.best_params_ == {"biaslearningclassifier__hidden_units": 1024, "biaslearningclassifier__readout_gain": 16.0}
    assert grid.best_score_ > 0.85  # bias-only learning on 8x8 digits, 3-fold CV
    assert scores[(1024, 16.0)] > scores[(1024, 1.0)] + 0.1  # the frozen readout's gain is what bias learning needs


def test_cross_val_score_methods_and_biases(digits):
    X, y = digits
    X = StandardScaler().fit_transform(X)
    for method in ("bias", "readout"):
        scores = cross_val_score(BiasLearningClassifier(hidden_units=512, method=method, epochs=20, random_state=0), X, y, cv=3)
        assert scores.mean() > 0.75, (method, scores)  # 3 folds of 8x8 digits by writer; chance 0.1
    clf = BiasLearningClassifier(hidden_units=512, epochs=5, random_state=0).fit(X, y)
    assert set(clf.biases_) == {"hidden.0.bias", "readout.bias"} and clf.biases_["hidden.0.bias"].shape == (512,)
    assert clf.n_iter_ == 5 and np.isfinite(clf.loss_)


def test_partial_fit_learns_epoch_by_epoch(digits):
    X, y = digits
    X = StandardScaler().fit_transform(X)
    clf = BiasLearningClassifier(hidden_units=512, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:10], y[:10])
    accuracy = []
    for _ in range(10):
        clf.partial_fit(X[:1200], y[:1200], classes=np.arange(10))
        accuracy.append(clf.score(X[1200:], y[1200:]))
    assert accuracy[-1] > 0.8 and accuracy[-1] > accuracy[0] and clf.n_iter_ == 10


def test_regressor_fits_a_smooth_function():
    g = np.random.default_rng(0)
    X = g.uniform(-2, 2, size=(600, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    reg = BiasLearningRegressor(hidden_units=1024, epochs=100, random_state=0).fit(X[:500], y[:500])
    assert reg.score(X[500:], y[500:]) > 0.9
    assert reg.predict(X[:3]).shape == (3,)
