"""Partial least squares regression (PLS2), the Brain-Score default mapping: 25 components, no scaling.

sklearn's ``PLSRegression`` finds each weight vector by NIPALS power iterations over the full data and
deflates ``X`` and ``Y`` after each component. This implementation is the improved kernel algorithm of
Dayal & MacGregor (1997): the weight vector is the dominant left singular vector of the deflated
cross-covariance ``S = X_a' Y``, found exactly from the small Gram matrix ``S'S`` (targets × targets,
kept up to date by rank-two updates) instead of by iterating; only ``S`` is deflated, never ``X`` or ``Y``.
The fitted model is the one NIPALS converges to (identical for a single target), at two passes over
``X`` per component.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X, Y = rng.normal(size=(40, 10)), rng.normal(size=(40, 3))
>>> pls = PLSRegression(n_components=2, dtype="float64").fit(X, Y)
>>> pls.coef_.shape, pls.predict(X).shape
((10, 3), (40, 3))
"""

from __future__ import annotations

from typing import Any

from brainalign.core.backend import BackendName, namespace
from brainalign.core.errors import InvalidInputError
from brainalign.mapping.linear import as_matrices

BRAIN_SCORE_COMPONENTS = 25


class PLSRegression:
    """PLS regression with ``n_components`` latent components; ``predict(X) = X @ coef_ + intercept_``.

    Matches ``sklearn.cross_decomposition.PLSRegression(n_components, scale=False)``. Attributes after
    ``fit``: ``coef_`` (features × targets), ``intercept_``, ``x_rotations_`` (``R``, scores ``T = X_c R``),
    ``x_loadings_``, ``y_loadings_``. Components stop early (with ``n_components_`` recording how many were
    kept) when ``X`` has no variance left.
    """

    def __init__(self, n_components: int = BRAIN_SCORE_COMPONENTS, backend: BackendName = "numpy",
                 device: str | None = None, dtype: str = "float32"):
        if int(n_components) < 1:
            raise InvalidInputError(f"n_components must be at least 1; got {n_components}")
        self.n_components = int(n_components)
        self.backend, self.device, self.dtype = backend, device, dtype

    def fit(self, X: Any, Y: Any) -> "PLSRegression":
        X, Y = as_matrices(X, Y, self.backend, self.device, self.dtype)
        (n, p), m = X.shape, Y.shape[1]
        if self.n_components > min(n, p):
            raise InvalidInputError(
                f"PLS with n_components={self.n_components} needs at least that many samples and features; "
                f"got {n} samples × {p} features (use n_components <= {min(n, p)})"
            )
        xp = namespace(X)
        x_mean, y_mean = xp.mean(X, axis=0), xp.mean(Y, axis=0)
        Xc, Yc = X - x_mean, Y - y_mean
        S = Xc.T @ Yc
        gram = S.T @ S if m <= p else None  # targets × targets, updated in place of recomputing
        R, P, Q = [], [], []
        tiny = 1e-10 * float(xp.sum(Xc * Xc)) / n
        for _ in range(self.n_components):
            w = _dominant_left_singular_vector(S, gram, xp)
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
        self.n_components_ = len(R)
        self.x_rotations_ = xp.stack(R, axis=1)
        self.x_loadings_ = xp.stack(P, axis=1)
        self.y_loadings_ = xp.stack(Q, axis=1)
        self.coef_ = self.x_rotations_ @ self.y_loadings_.T
        self.intercept_ = y_mean - x_mean @ self.coef_
        return self

    def predict(self, X: Any) -> Any:
        X, _ = as_matrices(X, None, self.backend, self.device, self.dtype)
        if X.shape[1] != self.coef_.shape[0]:
            raise InvalidInputError(f"X has {X.shape[1]} features; the model was fitted on {self.coef_.shape[0]}")
        return X @ self.coef_ + self.intercept_


def _dominant_left_singular_vector(S: Any, gram: Any | None, xp: Any) -> Any:
    """Unit vector ``w`` maximising ``||S' w||``, from the eigendecomposition of the smaller Gram matrix."""
    if gram is None:  # more targets than features: eigenvector of S S' directly
        _, vectors = xp.linalg.eigh(S @ S.T)
        return vectors[:, -1]
    _, vectors = xp.linalg.eigh(gram)
    w = S @ vectors[:, -1]
    return w / xp.linalg.vector_norm(w)
