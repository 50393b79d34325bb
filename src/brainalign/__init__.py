"""brainalign: how brain-like is this network's representation, where, and how sure are we?

>>> import brainalign
>>> brainalign.__version__
'0.1.0'
"""

__version__ = "0.1.0"

from brainalign.core.score import Score

__all__ = ["Score", "__version__", "score", "score_grid"]


def __getattr__(name: str):
    # `score` and `score_grid` pull in torch and the model catalog: import them only when asked for.
    if name in ("score", "score_grid"):
        from brainalign.runner import score as runner

        return getattr(runner, name)
    raise AttributeError(f"module 'brainalign' has no attribute {name!r}")
