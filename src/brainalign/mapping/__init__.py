"""Mappings from one representation to another, as scikit-learn-protocol estimators and their splits.

Regressions (:class:`RidgeCV`, :class:`PLSRegression`, :class:`LinearRegression`, :class:`NeuronToNeuron`),
reducers (:class:`PCA`, :class:`IncrementalPCA`, :class:`SparseRandomProjection`), seeded cross-validation
splits and the column-wise Pearson correlation that scores held-out predictions. Nothing here knows about
brains, models or labelled arrays beyond plain matrices: metrics build on it.
"""

from brainalign.mapping.correlation import pearson_r
from brainalign.mapping.cv import fixed_split, kfold_splits, shuffle_splits
from brainalign.mapping.linear import LinearRegression, NeuronToNeuron
from brainalign.mapping.pls import PLSRegression
from brainalign.mapping.reduction import PCA, IncrementalPCA, SparseRandomProjection
from brainalign.mapping.ridge import RidgeCV

__all__ = ["PCA", "IncrementalPCA", "LinearRegression", "NeuronToNeuron", "PLSRegression", "RidgeCV",
           "SparseRandomProjection", "fixed_split", "kfold_splits", "pearson_r", "shuffle_splits"]
