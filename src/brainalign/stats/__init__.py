"""Vectorised statistics: bootstrap, permutation tests, tests across subjects, multiple comparisons."""
