"""Partial least squares regression (PLS2), the Brain-Score default mapping: 25 components, no scaling.

sklearn's ``PLSRegression`` finds each weight vector by NIPALS power iterations over the full data and
deflates ``X`` and ``Y`` after each component. This implementation is the improved kernel algorithm of
Dayal & MacGregor (1997): the weight vector is the dominant left singular vector of the deflated
cross-covariance ``S = X_a' Y``, found exactly from the small Gram matrix ``S'S`` (targets × targets,
kept up to date by rank-two updates) instead of by iterating; only ``S`` is deflated, never ``X`` or ``Y``.
The fitted model is the one NIPALS converges to (identical for a single target), at two passes over
``X`` per component.

Constant data: ``X`` without variance (every column constant) is an :class:`InvalidInputError` (there is
no direction to fit). Targets that are all constant leave no covariance to fit either: no component is
fitted, the weights are zero and the predictions are the constants (exact), with one warning — as sklearn.
Constant columns among varying ones need nothing special (they get zero weight / are predicted exactly).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X, Y = rng.normal(size=(40, 10)), rng.normal(size=(40, 3))
>>> pls = PLSRegression(n_components=2).fit(X, Y)
>>> pls.coef_.shape, pls.predict(X).shape
((10, 3), (40, 3))
"""

from __future__ import annotations

import warnings
from typing import Any

from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.core.backend import namespace
from brainalign.core.errors import InvalidInputError
from brainalign.mapping._arrays import fit_matrices, like_fitted, one_dimensional

BRAIN_SCORE_COMPONENTS = 25


class PLSRegression(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """PLS regression with ``n_components`` latent components; ``predict(X) = X @ coef_ + intercept_``.

    Matches ``sklearn.cross_decomposition.PLSRegression(n_components, scale=False)``. Attributes after
    ``fit``: ``coef_`` (features × targets), ``intercept_``, ``x_rotations_`` (``R``, scores ``T = X_c R``),
    ``x_loadings_``, ``y_loadings_``. Components stop early (with ``n_components_`` recording how many were
    kept) when ``X`` has no variance, or ``Y`` no covariance with it, left. Compute settings come from
    ``brainalign.core.config`` at fit time.
    """

    def __init__(self, n_components: int = BRAIN_SCORE_COMPONENTS):
        self.n_components = n_components

    def fit(self, X: Any, y: Any) -> PLSRegression:
        """Fit ``n_components`` components to ``X`` (samples × features) and ``y`` (samples × targets, or 1-D)."""
        if not isinstance(self.n_components, int) or self.n_components < 1:
            raise InvalidInputError(f"n_components must be a positive integer; got {self.n_components!r}")
        X, Y = fit_matrices(X, y, min_samples=2, needs_y=True)
        (n, p), m = X.shape, Y.shape[1]
        if self.n_components > min(n, p):
            raise InvalidInputError(
                f"PLS with n_components={self.n_components} needs at least that many samples and features; "
                f"got {n} samples × {p} features (use n_components <= {min(n, p)})"
            )
        xp = namespace(X)
        if not bool(xp.any(xp.max(X, axis=0) > xp.min(X, axis=0))):
            raise InvalidInputError(f"X has no variance: all {p} feature columns are constant, so PLS has no "
                                    f"direction to fit; check the features (e.g. a dead layer)")
        x_mean, y_mean = xp.mean(X, axis=0), xp.mean(Y, axis=0)
        Xc, Yc = X - x_mean, Y - y_mean
        if not bool(xp.any(xp.max(Y, axis=0) > xp.min(Y, axis=0))):
            warnings.warn(f"PLSRegression: all {m} targets are constant; no component was fitted and the "
                          f"predictions are the constants", RuntimeWarning, stacklevel=2)
            R, P, Q = [], [], []
        else:
            R, P, Q = _components(Xc, Yc, self.n_components)
        self.n_components_ = len(R)
        self.x_rotations_ = xp.stack(R, axis=1) if R else xp.zeros((p, 0), dtype=X.dtype)
        self.x_loadings_ = xp.stack(P, axis=1) if P else xp.zeros((p, 0), dtype=X.dtype)
        self.y_loadings_ = xp.stack(Q, axis=1) if Q else xp.zeros((m, 0), dtype=X.dtype)
        self.coef_ = self.x_rotations_ @ self.y_loadings_.T
        self.intercept_ = y_mean - x_mean @ self.coef_
        self.n_features_in_, self._one_target = p, one_dimensional(y)
        return self

    def predict(self, X: Any) -> Any:
        """Predictions (samples × targets; 1-D when fitted on a 1-D ``y``)."""
        check_is_fitted(self, "coef_")
        predicted = like_fitted(X, self.coef_, self.n_features_in_, self) @ self.coef_ + self.intercept_
        return predicted[:, 0] if self._one_target else predicted


def _components(Xc: Any, Yc: Any, n_components: int) -> tuple[list[Any], list[Any], list[Any]]:
    """Rotations, X loadings and Y loadings of up to ``n_components`` components (improved kernel algorithm)."""
    xp = namespace(Xc)
    (n, p), m = Xc.shape, Yc.shape[1]
    S = Xc.T @ Yc
    gram = S.T @ S if m <= p else None  # targets × targets, updated in place of recomputing
    R, P, Q = [], [], []
    tiny = 1e-10 * float(xp.sum(Xc * Xc)) / n
    for _ in range(n_components):
        w = _dominant_left_singular_vector(S, gram, xp)
        if w is None:  # Y has no covariance with X left
            break
        r = w
        if R:
            R_, P_ = xp.stack(R, axis=1), xp.stack(P, axis=1)
            r = w - R_ @ (P_.T @ w)
        t = Xc @ r
        tt = xp.sum(t * t)
        if float(tt) <= tiny:
            break
        p_a, q_a = (Xc.T @ t) / tt, (Yc.T @ t) / tt
        if gram is not None:
            s_p = S.T @ p_a
            gram = (gram - tt * (q_a[:, None] * s_p[None, :] + s_p[:, None] * q_a[None, :])
                    + tt * tt * xp.sum(p_a * p_a) * (q_a[:, None] * q_a[None, :]))
        S = S - tt * (p_a[:, None] * q_a[None, :])
        R.append(r), P.append(p_a), Q.append(q_a)
    return R, P, Q


def _dominant_left_singular_vector(S: Any, gram: Any | None, xp: Any) -> Any | None:
    """Unit vector ``w`` maximising ``||S' w||``, from the eigendecomposition of the smaller Gram matrix;
    ``None`` when ``S`` is zero."""
    if not bool(xp.any(S != 0)):
        return None
    if gram is None:  # more targets than features: eigenvector of S S' directly
        _, vectors = xp.linalg.eigh(S @ S.T)
        return vectors[:, -1]
    _, vectors = xp.linalg.eigh(gram)
    w = S @ vectors[:, -1]
    norm = xp.linalg.vector_norm(w)
    return w / norm if float(norm) > 0 else None
