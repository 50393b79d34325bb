"""Publication-ready plots."""
