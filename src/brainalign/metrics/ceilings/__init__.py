"""Ceilings: how well a perfect model could score given the data's noise (split-half reliability, RDM noise ceilings)."""
