"""The accuracy figure of an encoder's model card: held-out r per neuroid (or per neuroid × time bin).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from brainalign.data.synthetic import simulated_brain
>>> from brainalign.insilico import EncodingModel
>>> brain = simulated_brain(n_stimuli=60, n_features=4, n_neuroids=5)
>>> ax = plot_accuracy(EncodingModel.fit_features(brain.features, brain.responses))
>>> ax.get_xlabel()
'held-out r per neuroid'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.insilico.encoding_model import EncodingModel


def plot_accuracy(encoder: EncodingModel, ax: Any = None) -> Any:
    """Histogram of held-out r over neuroids, with the median marked; time-resolved encoders plot the median
    r over neuroids per time bin instead. Returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.figure(figsize=(4, 3)).add_subplot()
    r = np.asarray(encoder.accuracy["r"], dtype=float)
    times = encoder.metadata.get("time_bins") or []
    title = f"{encoder.metadata.get('model', 'features')} {','.join(encoder.metadata.get('layers', []))}".strip()
    if times:
        ax.plot(times, np.nanmedian(r, axis=0), marker="o")
        ax.set_xlabel("time bin")
        ax.set_ylabel("median held-out r over neuroids")
    else:
        finite = r[np.isfinite(r)]
        ax.hist(finite, bins=max(5, min(30, finite.size // 2)), color="0.6")
        ax.axvline(float(np.median(finite)), color="C3", label=f"median {np.median(finite):.3f}")
        ax.set_xlabel("held-out r per neuroid")
        ax.set_ylabel("neuroids")
        ax.legend(frameon=False)
    ax.set_title(title, fontsize=9)
    return ax
