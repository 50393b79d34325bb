"""`ResultsStore`: score rows in SQLite, one per (model, layer, benchmark, benchmark version).

A grid writes each row as soon as it is computed and skips rows already stored, so an interrupted
run resumes where it stopped; a benchmark whose version was bumped is scored again.

>>> import tempfile, pathlib
>>> store = ResultsStore(pathlib.Path(tempfile.mkdtemp()) / "results.sqlite")
>>> store.put({"model": "m", "layer": "l", "benchmark": "B.x-rsa", "benchmark_version": 1, "score": 0.5})
>>> store.has("m", "l", "B.x-rsa", 1), store.has("m", "l", "B.x-rsa", 2)
(True, False)
>>> float(store.table()["score"].iloc[0])
0.5
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pandas as pd

_KEY = ("model", "layer", "benchmark", "benchmark_version")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    model TEXT NOT NULL, layer TEXT NOT NULL, benchmark TEXT NOT NULL, benchmark_version INTEGER NOT NULL,
    row TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (model, layer, benchmark, benchmark_version)
)"""


class ResultsStore:
    """An SQLite file of score rows (each row a JSON object with at least the key columns)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def has(self, model: str, layer: str, benchmark: str, benchmark_version: int) -> bool:
        with self._connect() as db:
            found = db.execute("SELECT 1 FROM scores WHERE model=? AND layer=? AND benchmark=? AND benchmark_version=?",
                               (model, layer, benchmark, benchmark_version)).fetchone()
        return found is not None

    def put(self, row: dict[str, Any]) -> None:
        """Insert or replace one row (committed immediately)."""
        key = tuple(row[k] for k in _KEY)
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?)",
                       (*key, json.dumps(row, default=_jsonable), time.time()))

    def table(self) -> pd.DataFrame:
        """All rows, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT row FROM scores ORDER BY created").fetchall()
        return pd.DataFrame([json.loads(r[0]) for r in rows])


def _jsonable(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)
