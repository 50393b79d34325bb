"""`score()` and grids over models × layers × benchmarks."""
