"""RidgeCV against himalaya (K-fold) and scikit-learn (leave-one-out) on identical inputs, both forms, both backends."""

import warnings

import numpy as np
import pytest
from himalaya.kernel_ridge import KernelRidgeCV as HimalayaKernelRidgeCV
from himalaya.ridge import RidgeCV as HimalayaRidgeCV
from sklearn.linear_model import RidgeCV as SklearnRidgeCV

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError
from brainalign.mapping.cv import kfold_splits
from brainalign.mapping.ridge import RidgeCV

ALPHAS = np.logspace(-2, 5, 8)


def _problem(n, p, n_targets=40, seed=0):
    """Targets with very different signal-to-noise ratios, so the chosen alphas span the grid."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * 2 + 1
    signal = X @ rng.normal(size=(p, n_targets)) / np.sqrt(p)
    Y = signal * np.logspace(-2, 1, n_targets) + rng.normal(size=(n, n_targets)) + 3
    return X, Y


def fit64(model, X, Y, backend=None):
    """Fit in float64 (the references compute in float64)."""
    with config_context(dtype="float64", backend=backend):
        return model.fit(X, Y)


@pytest.fixture(autouse=True)
def _quiet_references():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # himalaya's "kernel would be faster" hints
        yield


@pytest.mark.parametrize("n, p", [(90, 12), (50, 150)], ids=["primal-regime", "kernel-regime"])
@pytest.mark.parametrize("solver", ["primal", "kernel"])
def test_kfold_alphas_and_predictions_equal_himalaya(n, p, solver):
    X, Y = _problem(n, p)
    splits = kfold_splits(n, 5, seed=2)
    ours = fit64(RidgeCV(ALPHAS, cv=splits, solver=solver), X, Y)
    X_new = np.random.default_rng(9).normal(size=(7, p))
    for reference in (HimalayaRidgeCV(ALPHAS, cv=splits, fit_intercept=True),
                      HimalayaKernelRidgeCV(ALPHAS, kernel="linear", cv=splits, fit_intercept=True)):
        reference.fit(X, Y)
        np.testing.assert_allclose(ours.best_alphas_, reference.best_alphas_, rtol=1e-9)
        np.testing.assert_allclose(ours.predict(X_new), reference.predict(X_new), rtol=1e-6, atol=1e-6)
    assert len(np.unique(ours.best_alphas_)) >= 3  # the comparison covers several alpha choices


@pytest.mark.parametrize("solver", ["primal", "kernel"])
def test_splits_leaving_stimuli_out_equal_himalaya(solver):
    X, Y = _problem(80, 100, seed=8)
    order = np.random.default_rng(3).permutation(80)
    splits = [(order[:50], order[50:65]), (order[15:70], order[:15]), (order[20:], order[:20])]  # last one: K-fold-like
    ours = fit64(RidgeCV(ALPHAS, cv=splits, solver=solver), X, Y)
    reference = HimalayaKernelRidgeCV(ALPHAS, kernel="linear", cv=splits, fit_intercept=True).fit(X, Y)
    np.testing.assert_allclose(ours.best_alphas_, reference.best_alphas_, rtol=1e-9)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-6, atol=1e-6)
    assert len(np.unique(ours.best_alphas_)) >= 3


@pytest.mark.parametrize("n, p", [(90, 12), (50, 150)], ids=["primal-regime", "kernel-regime"])
@pytest.mark.parametrize("solver", ["primal", "kernel"])
def test_leave_one_out_equals_sklearn(n, p, solver):
    X, Y = _problem(n, p, seed=1)
    ours = fit64(RidgeCV(ALPHAS, cv="loo", solver=solver), X, Y)
    reference = SklearnRidgeCV(ALPHAS, alpha_per_target=True).fit(X, Y)
    np.testing.assert_array_equal(ours.best_alphas_, reference.alpha_)
    np.testing.assert_allclose(ours.coef_, reference.coef_.T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, rtol=1e-8, atol=1e-10)
    assert len(np.unique(ours.best_alphas_)) >= 3


def test_float32_leave_one_out_agrees_with_sklearn_when_ridge_nearly_interpolates():
    X, Y = _problem(40, 300, seed=3)  # far more features than stimuli: G⁻¹ diagonal is tiny
    ours = RidgeCV(ALPHAS, cv="loo").fit(X, Y)
    reference = SklearnRidgeCV(ALPHAS, alpha_per_target=True).fit(X, Y)
    assert (np.isclose(ours.best_alphas_, reference.alpha_, rtol=1e-6)).mean() >= 0.95


def test_shared_alpha_equals_himalaya_local_alpha_false():
    X, Y = _problem(60, 8, seed=4)
    splits = kfold_splits(60, 4, seed=0)
    ours = fit64(RidgeCV(ALPHAS, cv=splits, alpha_per_target=False), X, Y)
    reference = HimalayaRidgeCV(ALPHAS, cv=splits, fit_intercept=True,
                                solver_params={"local_alpha": False}).fit(X, Y)
    np.testing.assert_allclose(ours.best_alphas_, reference.best_alphas_, rtol=1e-9)
    assert len(np.unique(ours.best_alphas_)) == 1


def test_without_intercept_equals_sklearn():
    X, Y = _problem(70, 10, seed=5)
    ours = fit64(RidgeCV(ALPHAS, cv="loo", fit_intercept=False), X, Y)
    reference = SklearnRidgeCV(ALPHAS, alpha_per_target=True, fit_intercept=False).fit(X, Y)
    np.testing.assert_array_equal(ours.best_alphas_, reference.alpha_)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cv", [5, "loo"])
@pytest.mark.parametrize("p", [10, 120])
def test_torch_backend_equals_numpy(cv, p):
    torch = pytest.importorskip("torch")
    X, Y = _problem(60, p, seed=6)
    on_numpy = fit64(RidgeCV(ALPHAS, cv=cv), X, Y)
    on_torch = fit64(RidgeCV(ALPHAS, cv=cv), X, Y, backend="torch")
    assert isinstance(on_torch.best_alphas_, torch.Tensor)
    np.testing.assert_array_equal(on_torch.best_alphas_.numpy(), on_numpy.best_alphas_)
    np.testing.assert_allclose(on_torch.predict(X).numpy(), on_numpy.predict(X), rtol=1e-10, atol=1e-10)


def test_target_batches_do_not_change_the_result():
    X, Y = _problem(50, 20, seed=7)
    whole = fit64(RidgeCV(ALPHAS), X, Y)
    batched = fit64(RidgeCV(ALPHAS, target_batch_size=7), X, Y)
    np.testing.assert_array_equal(whole.best_alphas_, batched.best_alphas_)
    np.testing.assert_allclose(whole.predict(X), batched.predict(X), rtol=1e-12)


def test_invalid_inputs_raise_clear_errors():
    X, Y = _problem(20, 3)
    with pytest.raises(InvalidInputError, match="solver 'svd'"):
        RidgeCV(solver="svd").fit(X, Y)
    with pytest.raises(InvalidInputError, match="positive"):
        RidgeCV(alphas=[0.0, 1.0]).fit(X, Y)
    with pytest.raises(InvalidInputError, match="NaN"):
        RidgeCV().fit(np.where(X > 2, np.nan, X), Y)
    with pytest.raises(InvalidInputError, match="cannot make 5 folds from 4"):
        RidgeCV().fit(X[:4], Y[:4])
    with pytest.raises(InvalidInputError, match="cv 'gcv'"):
        RidgeCV(cv="gcv").fit(X, Y)
