"""brainalign: how brain-like is this network's representation, where, and how sure are we?

>>> import brainalign
>>> brainalign.__version__
'0.1.0'
"""

__version__ = "0.1.0"

from brainalign.core.score import Score  # noqa: E402

__all__ = ["Score", "__version__", "score"]


def __getattr__(name: str):
    # `score` pulls in torch and the model catalog: import it only when asked for.
    if name == "score":
        from brainalign.runner.score import score

        return score
    raise AttributeError(f"module 'brainalign' has no attribute {name!r}")
