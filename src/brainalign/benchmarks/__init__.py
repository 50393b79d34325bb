"""Benchmarks = dataset slice + metric + ceiling, with identifiers like ``Kriegeskorte2008.hIT-rsa``."""
