"""`ResultsStore`: score rows in SQLite (a file path) or PostgreSQL (a ``postgresql://`` URL), one per key
(:data:`KEY`): model, its weights checksum, layer, benchmark and version, metric options and brainalign version.

A grid writes each row as soon as it is computed (committed at once) and skips rows already stored, so an
interrupted run resumes where it stopped; a model re-registered with other weights, a bumped benchmark version,
other metric options or another brainalign version are scored again. Tables written with an older schema are
migrated when opened (`brainalign.store.schema`): their rows stay readable, with unknown key parts left empty.
Many processes may write to one store at once (SQLite serialises them; PostgreSQL runs them concurrently).

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
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from brainalign.core.errors import InvalidInputError
from brainalign.store.schema import KEY, SCORES, ForeignDatabaseError, prepare

__all__ = ["KEY", "ResultsStore", "store_url"]
_SCHEMES = ("sqlite", "postgresql")


def store_url(location: str | os.PathLike) -> sa.URL:
    """The SQLAlchemy URL of a store location: a file path (SQLite), ``sqlite:///path`` or ``postgresql://...``.

    >>> store_url("results.sqlite").drivername, store_url("postgresql://u@host:5432/db").drivername
    ('sqlite', 'postgresql+psycopg')
    """
    text = os.fspath(location)
    if "://" not in text:
        return sa.URL.create("sqlite", database=text)
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError:
        raise InvalidInputError(f"results store URL {text!r} is not a valid URL; use a file path, "
                                "sqlite:///path or postgresql://user@host:port/database") from None
    scheme = url.drivername.split("+")[0]
    if scheme not in _SCHEMES:
        raise InvalidInputError(f"results store URL scheme {scheme!r} is not supported; valid: {list(_SCHEMES)} "
                                "(or a plain file path for SQLite)")
    return url.set(drivername="postgresql+psycopg") if scheme == "postgresql" else url


class ResultsStore:
    """Score rows (each a JSON object holding at least the :data:`KEY` columns) in SQLite or PostgreSQL.

    ``location``: a file path or ``sqlite:///`` URL (``path`` is then the file) or a ``postgresql://`` URL
    (``path`` is ``None``). Opening a file that is not SQLite, an SQLite database of another program, or a
    server that cannot be reached is an `InvalidInputError` naming the location (passwords hidden).
    """

    def __init__(self, location: str | os.PathLike):
        url = store_url(location)
        self.url = url.set(drivername=url.drivername.split("+")[0]).render_as_string(hide_password=True)
        self.path: Path | None = None
        if url.drivername == "sqlite":
            if not url.database:
                raise InvalidInputError("an in-memory SQLite results store would be lost; give a file path")
            self.path = Path(url.database)
            if self.path.exists() and not self.path.is_file():
                raise InvalidInputError(f"results store {self.path} is not a regular file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"timeout": 60})
        else:
            self._engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)
        self._insert = (sqlite if url.drivername == "sqlite" else postgresql).insert
        self._open()

    def __repr__(self) -> str:
        return f"ResultsStore({self.url!r})"

    @property
    def name(self) -> str:
        """The file path (SQLite) or the URL without its password (PostgreSQL), for messages."""
        return str(self.path) if self.path is not None else self.url

    def _open(self) -> None:
        try:
            with self._engine.begin() as connection:
                prepare(connection)
        except ForeignDatabaseError as error:
            kind = "an SQLite database" if self.path is not None else "a database"
            raise InvalidInputError(f"results store {self.name} is {kind} of another program (tables: {error}); "
                                    "pass another --store") from None
        except sa.exc.OperationalError as error:
            raise InvalidInputError(f"cannot open results store {self.name} ({_reason(error)})") from None
        except sa.exc.DatabaseError as error:
            raise InvalidInputError(f"results store {self.name} is not a brainalign results database "
                                    f"(SQLite says: {_reason(error)}); pass another --store path") from None

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored row with ``key`` (its :data:`KEY` columns), or ``None``."""
        where = sa.and_(*(SCORES.c[k] == v for k, v in zip(KEY, _key(key), strict=True)))
        with self._engine.connect() as connection:
            found = connection.execute(sa.select(SCORES.c.row).where(where)).scalar()
        return None if found is None else json.loads(found)

    def has(self, key: Mapping[str, Any]) -> bool:
        """Whether a row with ``key`` is stored."""
        return self.get(key) is not None

    def stored_keys(self) -> set[tuple]:
        """The :data:`KEY` values of every stored row (tuples in :data:`KEY` order): what a run can skip."""
        with self._engine.connect() as connection:
            return {tuple(r) for r in connection.execute(sa.select(*(SCORES.c[k] for k in KEY)))}

    def put(self, row: Mapping[str, Any]) -> None:
        """Insert or replace one row (committed immediately, so a killed process keeps it)."""
        values = {**dict(zip(KEY, _key(row), strict=True)),
                  "row": json.dumps(dict(row), default=_jsonable), "created": time.time()}
        statement = self._insert(SCORES).values(values)
        statement = statement.on_conflict_do_update(index_elements=list(KEY),
                                                    set_={"row": statement.excluded.row,
                                                          "created": statement.excluded.created})
        with self._engine.begin() as connection:
            connection.execute(statement)

    def table(self) -> pd.DataFrame:
        """All rows, oldest first (NaN scores come back as NaN)."""
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(SCORES.c.row).order_by(SCORES.c.created)).scalars().all()
        return pd.DataFrame([json.loads(r) for r in rows])


def _key(row: Mapping[str, Any]) -> tuple:
    missing = [k for k in KEY if k not in row]
    if missing:
        raise InvalidInputError(f"a results row needs the key columns {list(KEY)}; missing {missing}")
    return tuple(row[k] if k != "benchmark_version" else int(row[k]) for k in KEY)


def _reason(error: sa.exc.DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)


def _jsonable(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)
