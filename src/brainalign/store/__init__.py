"""Results database: every score row with its provenance (SQLite by default)."""
