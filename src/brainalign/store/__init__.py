"""Results database: every score row with its provenance (SQLite file by default, PostgreSQL by URL); export."""
