"""Similarity metrics: RDMs and their comparison (RSA, weighted, temporal, searchlight), CKA, matching,
distributions.
"""
