"""Odd-one-out: model choices from dot-product similarity on embeddings with a known answer (clusters), accuracy and
the repeat ceiling against direct counts, and a miniature THINGS triplet file read back."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from brainalign.core.errors import InvalidInputError
from brainalign.metrics.behaviour.formats import read_things_triplets
from brainalign.metrics.behaviour.odd_one_out import odd_one_out_choices, repeat_ceiling, triplet_accuracy


@pytest.fixture(scope="module")
def clusters():
    """12 objects in 3 tight clusters: in a triplet of two same-cluster objects and one other, the other is odd."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 3
    labels = np.repeat(np.arange(3), 4)
    embeddings = centres[labels] + rng.normal(scale=0.1, size=(12, 16))
    triplets, odd = [], []
    for a, b in itertools.combinations(range(12), 2):
        if labels[a] != labels[b]:
            continue
        for c in np.flatnonzero(labels != labels[a]):
            order = rng.permutation([a, b, int(c)])
            triplets.append(order)
            odd.append(int(np.flatnonzero(order == c)[0]))
    return embeddings, np.array(triplets), np.array(odd)


def test_choices_are_the_object_outside_the_most_similar_pair(clusters):
    embeddings, triplets, odd = clusters
    np.testing.assert_array_equal(odd_one_out_choices(embeddings, triplets), odd)
    # direct: the position whose removal leaves the largest dot product
    s = embeddings @ embeddings.T
    for t, choice in zip(triplets[:20], odd_one_out_choices(embeddings, triplets[:20]), strict=True):
        pairs = [s[t[1], t[2]], s[t[0], t[2]], s[t[0], t[1]]]
        assert choice == int(np.argmax(pairs))


def test_accuracy_and_ceiling_against_direct_counts(clusters):
    embeddings, triplets, odd = clusters
    table = pd.DataFrame(triplets, columns=["object_0", "object_1", "object_2"]).assign(odd=odd)
    perfect = triplet_accuracy(embeddings, table)
    assert perfect.raw == 1.0 and np.isnan(perfect.ceiling) and perfect.extra["chance"] == pytest.approx(1 / 3)
    shuffled = triplet_accuracy(np.random.default_rng(1).normal(size=embeddings.shape), table)
    assert 0.15 < shuffled.raw < 0.5  # chance is 1/3
    # every triplet answered twice more by other subjects: once as the model would, once at random position 0
    repeated = pd.concat([table, table, table.assign(odd=0)], ignore_index=True)
    expected_ceiling = np.mean(np.where(odd == 0, 1.0, 2 / 3))  # majority share per triplet
    assert repeat_ceiling(repeated) == pytest.approx(expected_ceiling)
    score = triplet_accuracy(embeddings, repeated)
    assert score.raw == pytest.approx(np.mean(np.r_[odd, odd, np.zeros_like(odd)] == np.r_[odd, odd, odd]))
    assert score.value == pytest.approx(score.raw / expected_ceiling)


def test_things_file_is_read_with_the_odd_column(tmp_path, clusters):
    _, triplets, odd = clusters
    last = np.array([np.r_[np.delete(t, o), t[o]] for t, o in zip(triplets, odd, strict=True)])  # odd one last
    path = tmp_path / "testset1.txt"
    np.savetxt(path, last, fmt="%d")
    table = read_things_triplets(path)
    np.testing.assert_array_equal(table[["object_0", "object_1", "object_2"]].to_numpy(), last)
    assert (table["odd"] == 2).all()
    first = tmp_path / "data1854_batch5_test10.txt"
    np.savetxt(first, last[:, [2, 0, 1]], fmt="%d")
    assert triplet_accuracy(clusters[0], read_things_triplets(first, odd_column=0)).raw == 1.0


def test_bad_inputs_are_named(tmp_path, clusters):
    embeddings, triplets, _ = clusters
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_things_triplets(tmp_path / "missing.txt")
    (tmp_path / "pairs.txt").write_text("1 2\n3 4\n")
    with pytest.raises(InvalidInputError, match="three non-negative integer"):
        read_things_triplets(tmp_path / "pairs.txt")
    with pytest.raises(InvalidInputError, match="index 12 is outside the 12 embeddings"):
        odd_one_out_choices(embeddings, [[0, 1, 12]])
    with pytest.raises(InvalidInputError, match="odd must be 0, 1 or 2"):
        triplet_accuracy(embeddings, pd.DataFrame({"object_0": [0], "object_1": [1], "object_2": [2], "odd": [3]}))
