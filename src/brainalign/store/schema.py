"""The results table and its migrations, shared by every SQL backend (SQLite, PostgreSQL).

The table's columns are its schema version: :data:`COLUMNS` (version 2) is current; a table with the columns of
an older version is migrated in place when a store opens it (:func:`prepare`), keeping its rows.

>>> [column.name for column in SCORES.columns][:3]
['model', 'weights_checksum', 'layer']
"""

from __future__ import annotations

import sqlalchemy as sa

KEY = ("model", "weights_checksum", "layer", "benchmark", "benchmark_version", "metric_options", "brainalign_version")
COLUMNS = (*KEY, "row", "created")
SCHEMA_VERSION = 2
_V1_COLUMNS = ("model", "layer", "benchmark", "benchmark_version", "row", "created")

METADATA = sa.MetaData()
SCORES = sa.Table(
    "scores", METADATA,
    *(sa.Column(name, sa.Integer if name == "benchmark_version" else sa.Text, nullable=False, primary_key=True)
      for name in KEY),
    sa.Column("row", sa.Text, nullable=False),  # the whole result row (score, units, provenance) as JSON
    sa.Column("created", sa.Float, nullable=False),
)


class ForeignDatabaseError(Exception):
    """The database holds tables of another program (its table names are in ``tables``)."""

    def __init__(self, tables: list[str]):
        super().__init__(", ".join(tables))
        self.tables = tables


def prepare(connection: sa.Connection) -> None:
    """Create the table in an empty database, migrate an older one, or raise `ForeignDatabaseError`.

    On PostgreSQL an advisory lock serialises concurrent openers, so 16 processes opening a new database at once
    create the table once. An SQLite file with tables but no ``scores`` table belongs to another program.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7311964)"))
    inspector = sa.inspect(connection)
    tables = inspector.get_table_names()
    if "scores" not in tables:
        if tables and dialect == "sqlite":
            raise ForeignDatabaseError(sorted(tables))
        connection.execute(sa.schema.CreateTable(SCORES, if_not_exists=True))  # another opener may be first
        _set_version(connection)
        return
    columns = tuple(c["name"] for c in inspector.get_columns("scores"))
    if columns == COLUMNS:
        return
    if columns == _V1_COLUMNS:
        _migrate_1_to_2(connection)
        return
    raise ForeignDatabaseError(sorted(tables))


def _migrate_1_to_2(connection: sa.Connection) -> None:
    """Schema 1 → 2: old rows keep their values; weights checksum, options and version are unknown ('')."""
    connection.execute(sa.text("ALTER TABLE scores RENAME TO scores_v1"))
    if connection.dialect.name == "postgresql":  # index names are per schema there: free the new table's name
        connection.execute(sa.text("ALTER TABLE scores_v1 RENAME CONSTRAINT scores_pkey TO scores_v1_pkey"))
    SCORES.create(connection)
    connection.execute(sa.text("INSERT INTO scores SELECT model, '', layer, benchmark, benchmark_version, '', '', "
                               "row, created FROM scores_v1"))
    connection.execute(sa.text("DROP TABLE scores_v1"))
    _set_version(connection)


def _set_version(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(sa.text(f"PRAGMA user_version = {SCHEMA_VERSION}"))
