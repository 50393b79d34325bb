"""ResultsStore: rows survive reopening; versions are part of the key."""

from brainalign.store.results import ResultsStore


def test_rows_persist_and_are_replaced_by_key(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultsStore(path).put({"model": "m", "layer": "a", "benchmark": "B", "benchmark_version": 1, "score": 0.1})
    store = ResultsStore(path)
    store.put({"model": "m", "layer": "a", "benchmark": "B", "benchmark_version": 1, "score": 0.2})
    store.put({"model": "m", "layer": "a", "benchmark": "B", "benchmark_version": 2, "score": 0.3})
    table = store.table()
    assert len(table) == 2
    assert sorted(table["score"].tolist()) == [0.2, 0.3]
    assert store.has("m", "a", "B", 2) and not store.has("m", "b", "B", 1)
