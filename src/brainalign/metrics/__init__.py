"""Metrics compare two labelled arrays (never import models or data loaders): encoding, RSA, CKA, matching, ..."""
