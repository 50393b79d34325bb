"""Ceilings: how well a perfect model could score given the data's noise.

Split-half reliability and RDM noise ceilings.
"""
