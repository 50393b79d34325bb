"""Encoding metrics: predict responses from features on held-out stimuli (one cross-validation engine).

``engine`` holds the loop and the Score convention; ``variants`` (PLS, OLS, reverse, bidirectional, time as
samples), ``stacking``, ``versa`` and ``partitioning`` post-process its held-out predictions.
"""
