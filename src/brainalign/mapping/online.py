"""Learning from feature matrices that do not fit in memory: everything is read in chunks of rows or columns.

* :class:`RowChunks` re-iterates ``(X_chunk, Y_chunk)`` pairs from in-memory arrays or HDF5 datasets.
* :class:`StreamingRegressor` / :class:`StreamingClassifier`: linear models trained by mini-batch Adam
  (torch, CPU or GPU) with an L2 penalty, early stopping on a validation stream and the best epoch kept.
  The regressor minimises the ridge objective ``||Y - XW - b||² + alpha ||W||²``, so it converges to the
  closed-form ridge solution; the classifier minimises summed cross-entropy ``+ alpha ||W||²`` (the same
  optimum as ``sklearn.linear_model.LogisticRegression(C=1 / (2 alpha))``).
* :func:`accumulate_kernel` forms the stimulus kernel ``K = Σ_b X[:, b] X[:, b]'`` block of columns by block,
  and :func:`kernel_ridge_scores` fits kernel ridge from it (``RidgeCV``'s kernel solver), streaming targets in chunks.

>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(64, 3)); Y = X @ np.array([[1.0], [-2.0], [0.5]])
>>> model = StreamingRegressor(alpha=0.0, lr=0.05, patience=30, chunk_size=16).fit(X, Y)
>>> bool(np.allclose(model.coef_, [[1.0], [-2.0], [0.5]], atol=1e-2))
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from array_api_compat import device as _device_of
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from brainalign.core.backend import asarray, namespace, to_numpy
from brainalign.core.config import compute_settings, rows_per_block
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import check_finite
from brainalign.mapping._ridge_solvers import CV, DEFAULT_ALPHAS, KernelRidgeCV, checked_alphas, resolve_splits
from brainalign.mapping.correlation import pearson_r


class RowChunks:
    """Re-iterable ``(X_chunk, Y_chunk)`` pairs over ``rows`` of ``X`` / ``Y`` (numpy arrays or h5py datasets).

    Rows are read in sorted order within a chunk (as HDF5 requires); with ``shuffle`` the chunk order
    changes every pass.

    >>> import numpy as np
    >>> chunks = RowChunks(np.arange(10.0)[:, None], np.arange(10.0), chunk_size=4)
    >>> [x.shape[0] for x, _ in chunks]
    [4, 4, 2]
    """

    def __init__(self, X: Any, Y: Any = None, chunk_size: int = 1024, rows: Any = None, shuffle: bool = False,
                 seed: int = 0):
        if Y is not None and len(Y) != len(X):
            raise InvalidInputError(f"X has {len(X)} rows but Y has {len(Y)}")
        if int(chunk_size) < 1:
            raise InvalidInputError(f"chunk_size must be at least 1; got {chunk_size}")
        self.X, self.Y, self.chunk_size, self.shuffle = X, Y, int(chunk_size), shuffle
        self.rows = np.arange(len(X)) if rows is None else np.sort(np.asarray(rows, dtype=int))
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        starts = np.arange(0, len(self.rows), self.chunk_size)
        if self.shuffle:
            starts = self._rng.permutation(starts)
        for start in starts:
            index = self.rows[start:start + self.chunk_size]
            contiguous = index[-1] - index[0] + 1 == len(index)
            select = slice(int(index[0]), int(index[-1]) + 1) if contiguous else index
            yield np.asarray(self.X[select]), (None if self.Y is None else np.asarray(self.Y[select]))

    def split(self, validation_fraction: float = 0.1, seed: int = 0) -> tuple[RowChunks, RowChunks]:
        """Random ``(train, validation)`` streams over disjoint rows."""
        if not 0 < validation_fraction < 1:
            raise InvalidInputError(f"validation_fraction must lie in (0, 1); got {validation_fraction}")
        permuted = np.random.default_rng(seed).permutation(self.rows)
        n_val = max(1, int(round(validation_fraction * len(permuted))))
        return (RowChunks(self.X, self.Y, self.chunk_size, permuted[n_val:], shuffle=True, seed=seed),
                RowChunks(self.X, self.Y, self.chunk_size, permuted[:n_val]))


class _StreamingLinearModel(BaseEstimator):
    """Shared training loop: one linear layer, Adam, L2 penalty, plateau learning-rate decay, early stopping.

    Runs on torch with the device and dtype of the compute context (``brainalign.core.config``), or the
    device of torch inputs.
    """

    def __init__(self, *, alpha: float = 1.0, lr: float = 1e-2, max_epochs: int = 100, patience: int = 10,
                 tol: float = 1e-7, chunk_size: int = 1024, seed: int = 0):
        self.alpha = alpha
        self.lr = lr
        self.max_epochs = max_epochs
        self.patience = patience
        self.tol = tol
        self.chunk_size = chunk_size
        self.seed = seed

    def fit(self, X: Any, y: Any = None, *, validation: Iterable[tuple[Any, Any]] | None = None):
        """Train on ``(X, y)`` arrays (read ``chunk_size`` rows at a time) or, with ``y`` omitted, on a stream
        ``X`` of ``(X_chunk, y_chunk)`` pairs (e.g. :class:`RowChunks`); stop early when the ``validation``
        stream's loss stops improving (without one: when the training objective stops improving).
        """
        import torch

        if not self.alpha >= 0:
            raise InvalidInputError(f"alpha must be non-negative; got {self.alpha}")
        train = X if y is None else RowChunks(X, y, self.chunk_size)
        settings = compute_settings(X)
        self.device_, self.dtype_ = settings.device, settings.dtype
        torch.manual_seed(self.seed)
        n_rows, n_outputs, x_mean, y_mean = self._inspect(train)
        self.n_features_in_ = len(x_mean)
        self.linear_ = torch.nn.Linear(len(x_mean), n_outputs).to(device=self.device_,
                                                                  dtype=getattr(torch, self.dtype_))
        self._x_mean = self._tensor(x_mean)  # centring makes Adam converge fast
        with torch.no_grad():
            self.linear_.weight.zero_()
            self.linear_.bias.copy_(self._tensor(y_mean if y_mean is not None else np.zeros(n_outputs)))
        optimizer = torch.optim.Adam(self.linear_.parameters(), lr=self.lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5,
                                                               patience=max(1, self.patience // 3))
        best, best_state, stale = math.inf, None, 0
        self.history_: list[float] = []
        for _ in range(self.max_epochs):
            for X_chunk, y_chunk in train:
                optimizer.zero_grad()
                X_chunk, y_chunk = self._tensors(X_chunk, y_chunk)
                penalty = self.alpha * self.linear_.weight.pow(2).sum() / n_rows
                loss = self._loss(self._forward(X_chunk), y_chunk) / X_chunk.shape[0] + penalty
                loss.backward()
                optimizer.step()
            monitored = self._evaluate(validation if validation is not None else train, n_rows,
                                       penalised=validation is None)
            self.history_.append(monitored)
            scheduler.step(monitored)
            if not math.isfinite(best) or monitored < best - self.tol * max(abs(best), 1.0):
                best, stale = monitored, 0
                best_state = {k: v.detach().clone() for k, v in self.linear_.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        self.linear_.load_state_dict(best_state)
        self.n_epochs_ = len(self.history_)
        self.coef_ = to_numpy(self.linear_.weight.detach()).T
        self.intercept_ = to_numpy(self.linear_.bias.detach()) - to_numpy(self._x_mean) @ self.coef_
        return self

    def _inspect(self, stream: Iterable[tuple[Any, Any]]) -> tuple[int, int, np.ndarray, np.ndarray | None]:
        """One pass over a stream: rows, outputs, feature means and (regression) target means; checks NaN and shapes."""
        n_rows, outputs, x_sum, y_sum = 0, 0, None, None
        for X, Y in stream:
            check_finite(X, "X chunk")
            check_finite(Y, "Y chunk")
            if len(X) != len(Y):
                raise InvalidInputError(f"a chunk has {len(X)} rows of X but {len(Y)} of Y")
            if x_sum is not None and np.shape(X)[1] != len(x_sum):
                raise InvalidInputError(f"chunks differ in feature count: {len(x_sum)} and {np.shape(X)[1]}")
            n_rows += len(X)
            x_sum = np.sum(X, axis=0, dtype=np.float64) + (0 if x_sum is None else x_sum)
            y_total = self._target_sum(Y)
            y_sum = None if y_total is None else y_total + (0 if y_sum is None else y_sum)
            outputs = max(outputs, self._n_outputs(Y))
            self._one_target = np.ndim(Y) == 1
        if n_rows == 0:
            raise InvalidInputError("the training stream holds no rows")
        return n_rows, outputs, x_sum / n_rows, None if y_sum is None else y_sum / n_rows

    def _evaluate(self, stream: Iterable[tuple[Any, Any]], n_rows: int, penalised: bool) -> float:
        import torch

        total, count = 0.0, 0
        with torch.no_grad():
            for X, Y in stream:
                X, Y = self._tensors(X, Y)
                total += float(self._loss(self._forward(X), Y))
                count += X.shape[0]
            penalty = self.alpha * float(self.linear_.weight.pow(2).sum()) if penalised else 0.0
        return (total + penalty) / (n_rows if penalised else count)

    def _tensor(self, values: Any) -> Any:
        return asarray(values, "torch", self.device_, self.dtype_)

    def _forward(self, X: Any) -> Any:
        return self.linear_(X - self._x_mean)

    def _decision(self, X: Any) -> Any:
        """The linear layer's output for new rows ``X`` (a torch tensor on the model's device)."""
        import torch

        check_is_fitted(self, "linear_")
        if np.shape(X)[1] != self.n_features_in_:
            raise InvalidInputError(f"X has {np.shape(X)[1]} features, but {type(self).__name__} is expecting "
                                    f"{self.n_features_in_} features as input")
        with torch.no_grad():
            return self._forward(self._tensor(X))

    @staticmethod
    def _like_input(values: Any, X: Any) -> Any:
        """``values`` (a torch tensor) as a numpy array unless the input ``X`` was a torch tensor."""
        return values if type(X).__module__.startswith("torch") else to_numpy(values)


class StreamingRegressor(MultiOutputMixin, RegressorMixin, _StreamingLinearModel):
    """Ridge regression by mini-batch Adam over a stream of ``(X_chunk, Y_chunk)``; ``coef_`` is features × targets."""

    def _n_outputs(self, Y: Any) -> int:
        return 1 if np.ndim(Y) == 1 else np.shape(Y)[1]

    @staticmethod
    def _target_sum(Y: Any) -> np.ndarray:
        return np.sum(np.reshape(Y, (len(Y), -1)), axis=0, dtype=np.float64)

    def _tensors(self, X: Any, Y: Any) -> tuple[Any, Any]:
        Y = self._tensor(Y)
        return self._tensor(X), (Y[:, None] if Y.ndim == 1 else Y)

    @staticmethod
    def _loss(prediction: Any, Y: Any) -> Any:
        return (prediction - Y).pow(2).sum()

    def predict(self, X: Any) -> Any:
        """Predictions for ``X`` (rows × targets, 1-D when fitted on 1-D targets): a torch tensor on the
        model's device for torch input, else a numpy array."""
        predicted = self._decision(X)
        return self._like_input(predicted[:, 0] if self._one_target else predicted, X)


class StreamingClassifier(ClassifierMixin, _StreamingLinearModel):
    """Multinomial logistic regression by mini-batch Adam; labels are integers ``0 .. n_classes - 1``.

    >>> import numpy as np
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]] * 8); y = (X[:, 0] > 0).astype(int)
    >>> StreamingClassifier(alpha=0.01, lr=0.1, max_epochs=50).fit(RowChunks(X, y, 8)).predict(X[:4]).tolist()
    [0, 0, 1, 1]
    """

    def _n_outputs(self, Y: Any) -> int:
        labels = np.asarray(Y)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise InvalidInputError("classifier labels must be a 1-D array of non-negative integers")
        return int(labels.max()) + 1

    @staticmethod
    def _target_sum(Y: Any) -> None:
        return None

    def fit(self, X: Any, y: Any = None, *, validation: Iterable[tuple[Any, Any]] | None = None):
        """As :meth:`StreamingRegressor.fit`; ``classes_`` are ``0 .. n_classes - 1``."""
        super().fit(X, y, validation=validation)
        self.classes_ = np.arange(self.linear_.out_features)
        return self

    def _tensors(self, X: Any, Y: Any) -> tuple[Any, Any]:
        import torch

        return self._tensor(X), torch.as_tensor(np.asarray(Y), device=self.device_)

    @staticmethod
    def _loss(logits: Any, labels: Any) -> Any:
        import torch

        return torch.nn.functional.cross_entropy(logits, labels.long(), reduction="sum")

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities (rows sum to one); torch for torch input, else numpy."""
        return self._like_input(self._decision(X).softmax(dim=1), X)

    def predict(self, X: Any) -> Any:
        """The most probable class per row; torch for torch input, else numpy."""
        return self._like_input(self._decision(X).argmax(dim=1), X)


def accumulate_kernel(X: Any, block_size: int | None = None) -> Any:
    """The linear kernel ``X X'`` (stimuli × stimuli) read ``block_size`` feature columns at a time.

    ``X`` may be an on-disk h5py dataset (store it chunked by column blocks for fast reads); only one
    block and the kernel are ever in memory. By default a block fills the context's ``working_memory``;
    the kernel has the context's backend, device and dtype.

    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(3, 4)
    >>> bool(np.allclose(accumulate_kernel(X, block_size=3), X @ X.T))
    True
    """
    n, p = X.shape
    settings = compute_settings(X)
    if block_size is None:
        block_size = rows_per_block(n * np.dtype(settings.dtype).itemsize, p)
    kernel = None
    for start in range(0, p, block_size):
        block = asarray(X[:, start:start + block_size], settings.backend, settings.device, settings.dtype)
        if not bool(namespace(block).all(namespace(block).isfinite(block))):
            check_finite(to_numpy(block), f"feature columns {start}..{start + block.shape[1] - 1}")
        product = block @ block.T
        kernel = product if kernel is None else kernel + product
    return kernel


def kernel_ridge_scores(kernel: Any, targets: Any, train: Any, test: Any, alphas: Sequence[float] = DEFAULT_ALPHAS,
                        chunk_size: int = 4096, *, cv: CV = "loo", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Held-out Pearson r per target of kernel ridge fitted on ``train`` rows, alpha chosen per target by ``cv``
    inside ``train`` (default leave-one-out, as ``sklearn.linear_model.RidgeCV(alpha_per_target=True)``).

    The solver is :class:`brainalign.mapping._ridge_solvers.KernelRidgeCV` (``RidgeCV``'s kernel form),
    prepared once from the training kernel (an unpenalised intercept); ``targets`` (stimuli × targets, e.g.
    an h5py dataset) are read ``chunk_size`` at a time. Returns ``(r, alpha)`` as numpy arrays.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 5)); Y = X[:, :2]
    >>> r, _ = kernel_ridge_scores(X @ X.T, Y, np.arange(30), np.arange(30, 40))
    >>> bool((r > 0.99).all())
    True
    """
    settings = compute_settings(kernel)
    K = asarray(kernel, settings.backend, settings.device, settings.dtype)
    xp = namespace(K)
    train, test = (xp.asarray(np.asarray(i), device=_device_of(K)) for i in (train, test))
    train_kernel = xp.take(xp.take(K, train, axis=0), train, axis=1)
    test_kernel = xp.take(xp.take(K, test, axis=0), train, axis=1)
    column_mean = xp.mean(train_kernel, axis=0, keepdims=True)
    test_kernel = (test_kernel - xp.mean(test_kernel, axis=1, keepdims=True) - column_mean
                   + xp.mean(column_mean))  # centred on the training stimuli
    grid = checked_alphas(alphas, K)
    solver = KernelRidgeCV(train_kernel, grid, resolve_splits(cv, train.shape[0], seed), fit_intercept=True)
    scores, chosen = [], []
    for start in range(0, targets.shape[1], chunk_size):
        Y = asarray(targets[:, start:start + chunk_size], settings.backend, settings.device, settings.dtype)
        if not bool(xp.all(xp.isfinite(Y))):
            check_finite(to_numpy(Y), f"targets {start}..{start + Y.shape[1] - 1}")
        Y_train = xp.take(Y, train, axis=0)
        y_mean = xp.mean(Y_train, axis=0, keepdims=True)
        solution = solver.solve(Y_train - y_mean)
        predicted = test_kernel @ solution.weights + y_mean
        scores.append(to_numpy(pearson_r(predicted, xp.take(Y, test, axis=0))))
        chosen.append(to_numpy(xp.take(grid, solution.best, axis=0)))
    return np.concatenate(scores), np.concatenate(chosen)
