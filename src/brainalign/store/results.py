"""`ResultsStore`: score rows in SQLite, one per key (:data:`KEY`): model, its weights checksum, layer, benchmark
and version, metric options and brainalign version.

A grid writes each row as soon as it is computed and skips rows already stored, so an interrupted run resumes
where it stopped; a model re-registered with other weights, a bumped benchmark version, other metric options or
another brainalign version are scored again. Files written with the first schema (key: model, layer, benchmark,
benchmark version) are migrated when opened: their rows stay readable, with unknown key parts left empty.

>>> import tempfile, pathlib
>>> store = ResultsStore(pathlib.Path(tempfile.mkdtemp()) / "results.sqlite")
>>> key = {"model": "m", "weights_checksum": "abc", "layer": "l", "benchmark": "B.x-rsa", "benchmark_version": 1,
...        "metric_options": "{}", "brainalign_version": "0.1.0"}
>>> store.put({**key, "score": 0.5})
>>> store.has(key), store.has({**key, "weights_checksum": "new"})
(True, False)
>>> float(store.table()["score"].iloc[0])
0.5
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from brainalign.core.errors import InvalidInputError

KEY = ("model", "weights_checksum", "layer", "benchmark", "benchmark_version", "metric_options", "brainalign_version")
_OLD_KEY = ("model", "layer", "benchmark", "benchmark_version")
_SCHEMA_VERSION = 2
_COLUMNS = (*KEY, "row", "created")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS scores (
    model TEXT NOT NULL, weights_checksum TEXT NOT NULL, layer TEXT NOT NULL, benchmark TEXT NOT NULL,
    benchmark_version INTEGER NOT NULL, metric_options TEXT NOT NULL, brainalign_version TEXT NOT NULL,
    row TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY ({", ".join(KEY)})
)"""


class ResultsStore:
    """An SQLite file of score rows (each row a JSON object holding at least the :data:`KEY` columns).

    Opening a file that is not SQLite, or an SQLite database of another program, is an `InvalidInputError`
    naming the file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():
            raise InvalidInputError(f"results store {self.path} is not a regular file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as db:
                self._prepare(db)
        except sqlite3.DatabaseError as error:
            raise InvalidInputError(f"results store {self.path} is not a brainalign results database "
                                    f"(SQLite says: {error}); pass another --store path") from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def _prepare(self, db: sqlite3.Connection) -> None:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            db.execute(_SCHEMA)
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            return
        columns = tuple(c[1] for c in db.execute("PRAGMA table_info(scores)")) if "scores" in tables else ()
        if columns == _COLUMNS:
            return
        if columns == (*_OLD_KEY, "row", "created"):
            self._migrate(db)
            return
        raise InvalidInputError(f"results store {self.path} is an SQLite database of another program (tables: "
                                f"{', '.join(sorted(tables))}); pass another --store path")

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Schema 1 → 2: old rows keep their values; weights checksum, options and version are unknown ('')."""
        db.execute("ALTER TABLE scores RENAME TO scores_v1")
        db.execute(_SCHEMA)
        db.execute("INSERT INTO scores SELECT model, '', layer, benchmark, benchmark_version, '', '', row, created "
                   "FROM scores_v1")
        db.execute("DROP TABLE scores_v1")
        db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored row with ``key`` (its :data:`KEY` columns), or ``None``."""
        with self._connect() as db:
            found = db.execute(f"SELECT row FROM scores WHERE {' AND '.join(f'{k}=?' for k in KEY)}",
                               _key(key)).fetchone()
        return None if found is None else json.loads(found[0])

    def has(self, key: Mapping[str, Any]) -> bool:
        """Whether a row with ``key`` is stored."""
        return self.get(key) is not None

    def put(self, row: Mapping[str, Any]) -> None:
        """Insert or replace one row (committed immediately, so a killed process keeps it)."""
        with self._connect() as db:
            db.execute(f"INSERT OR REPLACE INTO scores VALUES ({', '.join('?' * len(_COLUMNS))})",
                       (*_key(row), json.dumps(dict(row), default=_jsonable), time.time()))

    def table(self) -> pd.DataFrame:
        """All rows, oldest first (NaN scores come back as NaN)."""
        with self._connect() as db:
            rows = db.execute("SELECT row FROM scores ORDER BY created").fetchall()
        return pd.DataFrame([json.loads(r[0]) for r in rows])


def _key(row: Mapping[str, Any]) -> tuple:
    missing = [k for k in KEY if k not in row]
    if missing:
        raise InvalidInputError(f"a results row needs the key columns {list(KEY)}; missing {missing}")
    return tuple(row[k] if k != "benchmark_version" else int(row[k]) for k in KEY)


def _jsonable(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)
