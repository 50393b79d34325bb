"""ResultsStore: rows keyed by weights, benchmark version, options and brainalign version; old files migrate;
files that are not ours are refused with their name."""

import math
import sqlite3

import pytest

from brainalign.core.errors import InvalidInputError
from brainalign.store.results import KEY, ResultsStore

BASE = {"model": "m", "weights_checksum": "w1", "layer": "a", "benchmark": "B", "benchmark_version": 1,
        "metric_options": "{}", "brainalign_version": "0.1.0"}


def test_rows_persist_and_are_replaced_by_key(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultsStore(path).put({**BASE, "score": 0.1})
    store = ResultsStore(path)
    store.put({**BASE, "score": 0.2})
    store.put({**BASE, "benchmark_version": 2, "score": 0.3})
    store.put({**BASE, "weights_checksum": "w2", "score": 0.4})
    store.put({**BASE, "metric_options": '{"alpha": 1}', "score": 0.5})
    store.put({**BASE, "brainalign_version": "0.2.0", "score": 0.6})
    assert sorted(store.table()["score"].tolist()) == [0.2, 0.3, 0.4, 0.5, 0.6]
    assert store.get({**BASE, "weights_checksum": "w2"})["score"] == 0.4
    assert not store.has({**BASE, "layer": "b"})


def test_nan_scores_come_back_as_nan(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    store.put({**BASE, "score": float("nan")})
    assert math.isnan(ResultsStore(tmp_path / "r.sqlite").table()["score"].iloc[0])


def test_first_schema_file_opens_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the schema brainalign 74c5cc4 wrote
        db.execute("CREATE TABLE IF NOT EXISTS scores (model TEXT NOT NULL, layer TEXT NOT NULL, benchmark TEXT NOT "
                   "NULL, benchmark_version INTEGER NOT NULL, row TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY "
                   "(model, layer, benchmark, benchmark_version))")
        db.execute("INSERT INTO scores VALUES ('m', 'a', 'B', 1, "
                   "'{\"model\": \"m\", \"layer\": \"a\", \"benchmark\": \"B\", \"benchmark_version\": 1, "
                   "\"score\": 0.25}', 1.0)")
    store = ResultsStore(path)
    assert store.table()["score"].tolist() == [0.25]
    assert not store.has(BASE)  # the weights behind the old row are unknown: a new run scores again
    store.put({**BASE, "score": 0.3})
    assert sorted(ResultsStore(path).table()["score"].tolist()) == [0.25, 0.3]
    with sqlite3.connect(path) as db:
        assert tuple(c[1] for c in db.execute("PRAGMA table_info(scores)"))[:len(KEY)] == KEY


def test_corrupt_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("model,layer,score\nm,a,0.1\n")
    with pytest.raises(InvalidInputError, match="results.csv.*not a brainalign results database"):
        ResultsStore(path)
    assert path.read_text() == "model,layer,score\nm,a,0.1\n"


def test_foreign_sqlite_database_is_refused_with_its_name(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(InvalidInputError, match=r"app\.db is an SQLite database of another program \(tables: users\)"):
        ResultsStore(path)


def test_row_without_key_columns_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="missing \\['weights_checksum'"):
        ResultsStore(tmp_path / "r.sqlite").put({"model": "m", "layer": "a", "benchmark": "B", "benchmark_version": 1})
