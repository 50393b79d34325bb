"""Ranks: the radix sort order and (weighted) ranks against numpy's argsort and scipy's rankdata."""

import numpy as np
import pytest
import torch
from scipy import stats

from brainalign.metrics.similarity._ranks import FixedOrder, rank_rows, sort_rows

RNG = np.random.default_rng(7)
CASES = {
    "continuous": RNG.random((3, 500)),
    "long rows (two radix passes)": RNG.normal(size=(2, 40_000)),
    "ties": np.round(RNG.random((3, 2000)) * 5),
    "constant": np.ones((2, 9)),
    "huge range": np.array([[1e308, -1e308, 0.0, 5e307, -1.0]]),
    "subnormal": np.array([[1e-320, 0.0, 2e-320, -1e-321]]),
    "float32": RNG.random((2, 3000)).astype(np.float32),
    "one entry": np.array([[4.0]]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sort_rows_sorts_and_ranks_match_rankdata(name):
    x = CASES[name]
    values, order = sort_rows(x)
    np.testing.assert_array_equal(values, np.sort(x, axis=-1))
    np.testing.assert_array_equal(np.take_along_axis(x, order, axis=-1), values)
    np.testing.assert_array_equal(rank_rows(x), stats.rankdata(x, axis=-1))


def test_torch_ranks_match_rankdata():
    x = CASES["ties"]
    np.testing.assert_array_equal(rank_rows(torch.as_tensor(x)).numpy(), stats.rankdata(x, axis=-1))


@pytest.mark.parametrize("name", ["continuous", "ties"])
def test_fixed_order_ranks_equal_ranks_of_the_expanded_vector(name):
    x = CASES[name][:, :300]
    counts = RNG.integers(0, 4, (5, x.shape[1]))
    twice = FixedOrder(x).twice_ranks(counts)  # (samples, rows, P)
    for sample, weights in enumerate(counts):
        for row, values in enumerate(x):
            kept = weights > 0
            expanded = stats.rankdata(np.repeat(values, weights))
            expected = expanded[np.cumsum(weights)[kept] - 1]  # rank of each kept entry's last copy
            np.testing.assert_array_equal(twice[sample, row][kept] / 2, expected)
    np.testing.assert_allclose(rank_rows(x, weights=counts[:, None, :])[counts[:, None, :].repeat(len(x), 1) > 0],
                               (twice / 2)[counts[:, None, :].repeat(len(x), 1) > 0])
