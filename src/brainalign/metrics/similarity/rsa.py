"""Representational similarity analysis: the model's RDM compared with brain RDMs, with a noise ceiling.

``rsa`` is the registered metric. The model is `Features` (its RDM is computed with ``distance``) or a
precomputed model `RDM` (one RDM, e.g. one layer read by :mod:`brainalign.data.interop.net2brain`). With
several subject RDMs (descriptor ``subject``; sessions of a subject are averaged first) the score keeps one
value per subject (``per_split``) and is normalised by a noise ceiling. Two conventions, named by
``convention`` and stated in ``extra["convention"]`` and ``extra["units"]``:

* ``"rsatoolbox"`` (default): ``raw`` = mean over subjects of r (``comparison``), ``error`` its SEM,
  ``ceiling`` the LOWER bound of rsatoolbox's noise ceiling (pools of ranks for rank methods), ``value = raw /
  lower`` (units ``"fraction of lower noise ceiling"``, also ``extra["percent_of_ceiling"]``; the upper bound
  is ``extra["ceiling_upper"]``). The ceiling is only used when the subjects agree: their leave-one-subject-out
  similarities must be significantly above 0 (one-sided t-test, p < ``CEILING_ALPHA``); otherwise dividing by
  a lower bound near 0 would inflate the score without limit, so ``value = raw`` with a warning and
  ``extra["ceiling_reliable"] = False``.
* ``"net2brain"``: Net2Brain's numbers. ``raw`` = R² = mean over subjects of r² (``per_split`` holds the r²,
  ``extra["r_per_subject"]`` the signed r), ``error`` = SEM of the r² (ddof=1), ``ceiling`` = LNC = mean over
  subjects of r²(subject, plain mean of the OTHER subjects' RDMs), ``extra["ceiling_upper"]`` = UNC (the same
  with the plain mean of ALL subjects), ``value`` = % of LNC = 100 R² / LNC (units ``"% of LNC"``), applied
  whatever the LNC, as Net2Brain does. ``extra["significance"]`` is Net2Brain's p-value: a two-sided
  one-sample t-test of the r² against 0. It is biased upwards in significance: squares are ≥ 0, so even
  correlations scattered around 0 give a positive mean. Use ``extra["p_value"]``, the two-sided one-sample
  t-test of the signed r against 0, to decide whether the model explains anything.

With a single target RDM (e.g. one monkey's IT) there is no ceiling and ``value = raw``.

Undefined scores are NaN with one warning, never a plausible number: fewer than ``MIN_STIMULI`` stimuli,
features that are the same for every stimulus (a constant model RDM), or a constant brain RDM.
Backend, device and dtype come from the compute context (:func:`brainalign.core.config.config_context`).
Dtypes: a model RDM computed from features uses the context's dtype (float32 by default, as every metric);
the ``"rsatoolbox"`` convention compares RDMs in the context's dtype too, while the ``"net2brain"``
convention compares them in float64 whatever the context, because its purpose is to give Net2Brain's (float64)
numbers and comparing a few dozen RDMs costs microseconds: on Net2Brain's own test cases float32 comparisons
were off by up to 9e-4 percentage points of "% of LNC" (relative 5e-6; float32 rounding creates rank ties),
float64 ones by < 1e-13. Noise ceilings are always float64.

>>> import numpy as np
>>> from brainalign.core.labels import make_features
>>> ids = [f"s{i}" for i in range(8)]
>>> features = make_features(np.random.default_rng(0).normal(size=(8, 5)), ids)
>>> target = compute_rdm(features, distance="correlation")
>>> round(rsa(features, target).value, 6)
1.0
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from brainalign.core.config import config_context
from brainalign.core.errors import InvalidInputError, UnknownNameError
from brainalign.core.labels import stimulus_ids
from brainalign.core.score import Score
from brainalign.data.rdm import RDM
from brainalign.metrics.ceilings.noise_ceiling import rdm_noise_ceiling_per_subject
from brainalign.metrics.registry import register_metric
from brainalign.metrics.similarity.rdm_comparison import DISTANCE_METHODS, compare_rdms, matched
from brainalign.metrics.similarity.rdms import compute_rdm

CEILING_ALPHA = 0.05
MIN_STIMULI = 4
CONVENTIONS = ("rsatoolbox", "net2brain")
NET2BRAIN_COMPARISONS = ("spearman", "pearson")  # the correlations Net2Brain squares


@register_metric("rsa")
def rsa(
    source: xr.DataArray | RDM,
    target: RDM,
    *,
    distance: str = "correlation",
    comparison: str = "spearman",
    convention: str = "rsatoolbox",
) -> Score:
    """RSA score of `Features` or one model `RDM` ``source`` against brain RDM(s) ``target`` under ``convention``
    (``"rsatoolbox"`` or ``"net2brain"``, see the module docstring).

    >>> import numpy as np
    >>> from brainalign.data.rdm import RDM
    >>> ids = [f"s{i}" for i in range(8)]
    >>> model = RDM(np.arange(28.0), ids)
    >>> subjects = RDM(np.arange(28.0) + np.random.default_rng(1).normal(0, 8, (4, 28)), ids)
    >>> score = rsa(model, subjects, convention="net2brain")  # the model is the true signal: above the LNC
    >>> round(score.raw, 3), round(score.ceiling, 3), round(score.value, 1), score.extra["units"]
    (0.527, 0.381, 138.1, '% of LNC')
    """
    if convention not in CONVENTIONS:
        raise UnknownNameError("RSA convention", convention, CONVENTIONS)
    if comparison in DISTANCE_METHODS:
        raise InvalidInputError(f"RSA scores similarities; comparison {comparison!r} is a distance (lower = more "
                                "similar): compare the RDMs with compare_rdms instead")
    if convention == "net2brain" and comparison not in NET2BRAIN_COMPARISONS:
        raise InvalidInputError(f"the net2brain convention squares correlations: comparison must be one of "
                                f"{NET2BRAIN_COMPARISONS}; got {comparison!r}")
    comparison_dtype = "float64" if convention == "net2brain" else None  # None: the context's
    subjects, per_subject = _per_subject_similarity(source, target, distance, comparison, comparison_dtype)
    provenance = {"metric": "rsa", "distance": distance, "comparison": comparison, "convention": convention,
                  **_model_and_layer(source)}
    if convention == "net2brain":
        return _net2brain_score(subjects, per_subject, comparison, provenance)
    raw = float(per_subject.mean())
    if subjects.n_rdms < 2 or math.isnan(raw):
        return Score(value=raw, raw=raw, per_split=per_subject, provenance=provenance,
                     extra={"convention": convention, "units": f"mean {comparison} r"})
    lower_per_subject, upper_per_subject = rdm_noise_ceiling_per_subject(subjects, comparison)
    lower, upper = float(lower_per_subject.mean()), float(upper_per_subject.mean())
    agreement_p = float(stats.ttest_1samp(lower_per_subject, 0.0, alternative="greater").pvalue)
    reliable = agreement_p < CEILING_ALPHA
    if not reliable:
        warnings.warn(
            f"subjects' RDMs do not agree (leave-one-subject-out similarity {lower:.3g}, one-sided p = "
            f"{agreement_p:.2g}): the noise ceiling is unreliable, so the score is left unnormalised (value = raw)",
            stacklevel=2,
        )
    return Score(
        value=raw / lower if reliable else raw, raw=raw, ceiling=lower, error=float(stats.sem(per_subject)),
        per_split=per_subject,
        extra={"percent_of_ceiling": 100 * raw / lower, "ceiling_upper": upper, "n_subjects": subjects.n_rdms,
               "ceiling_reliable": reliable, "ceiling_agreement_p": agreement_p, "convention": convention,
               "error_kind": "SEM over subjects",
               "units": "fraction of lower noise ceiling" if reliable else f"mean {comparison} r"},
        provenance=provenance,
    )


def _net2brain_score(subjects: RDM, per_subject: np.ndarray, comparison: str, provenance: dict) -> Score:
    """Net2Brain's R², SEM, significance and plain-mean noise ceilings (module docstring) from the r per subject."""
    squared = per_subject**2
    raw = float(squared.mean())
    extra: dict[str, Any] = {"convention": "net2brain", "units": "R²", "r_per_subject": per_subject,
                             "error_kind": "SEM over subjects (of r²)"}
    if subjects.n_rdms < 2 or math.isnan(raw):
        return Score(value=raw, raw=raw, per_split=squared, extra=extra, provenance=provenance)
    lower_r, upper_r = rdm_noise_ceiling_per_subject(subjects, comparison, pooling="plain-mean")
    lnc, unc = float(np.mean(lower_r**2)), float(np.mean(upper_r**2))
    extra.update(
        units="% of LNC", raw_units="R² (mean over subjects of r²)", ceiling_units="LNC (mean over subjects of r²)",
        ceiling_upper=unc, percent_of_ceiling=100 * raw / lnc, n_subjects=subjects.n_rdms,
        significance=float(stats.ttest_1samp(squared, 0.0).pvalue),
        p_value=float(stats.ttest_1samp(per_subject, 0.0).pvalue),
    )
    return Score(value=100 * raw / lnc, raw=raw, ceiling=lnc, error=float(stats.sem(squared)), per_split=squared,
                 extra=extra, provenance=provenance)


def _per_subject_similarity(source: xr.DataArray | RDM, target: RDM, distance: str, comparison: str,
                            comparison_dtype: str | None = None) -> tuple[RDM, np.ndarray]:
    """The target averaged within subjects and reordered to the model, and r per subject (NaN, with one
    warning, when RSA is undefined for these inputs); compared in ``comparison_dtype`` (None: the context's)."""
    if isinstance(source, RDM) and source.n_rdms != 1:
        raise InvalidInputError(f"RSA compares one model RDM with the brain; got {source.n_rdms} "
                                "(pick one layer, e.g. rdms.select(rdms.descriptors['layer'] == name))")
    n_stimuli = source.n_stimuli if isinstance(source, RDM) else len(stimulus_ids(source, "RSA features"))
    subjects = target.subject_means()
    undefined = _why_undefined(source, n_stimuli)
    if undefined:
        warnings.warn(f"RSA is undefined: {undefined}; the score is NaN", RuntimeWarning, stacklevel=3)
        return subjects, np.full(subjects.n_rdms, math.nan)
    model_rdm = source if isinstance(source, RDM) else compute_rdm(source, distance=distance)
    subjects = matched(model_rdm, subjects)
    with config_context(dtype=comparison_dtype):
        per_subject = compare_rdms(model_rdm, subjects, comparison)[0]
    return subjects, np.asarray(per_subject, dtype=float)


def _why_undefined(source: xr.DataArray | RDM, n_stimuli: int) -> str | None:
    """Why the model RDM of ``source`` cannot be compared (too few stimuli, a constant RDM or identical
    features), or None."""
    if n_stimuli < MIN_STIMULI:
        return f"it needs at least {MIN_STIMULI} stimuli; got {n_stimuli}"
    if isinstance(source, RDM):
        return "the model RDM is constant" if np.all(source.condensed == source.condensed[0, 0]) else None
    values = np.asarray(source.values)
    if np.all(values == values[:1]):
        return "the features are the same for every stimulus, so the model RDM is constant"
    return None


def _model_and_layer(source: xr.DataArray | RDM) -> dict:
    """``model`` / ``layer`` of the source: attrs of `Features`, descriptors of a model `RDM`."""
    if isinstance(source, RDM):
        return {k: source.descriptors[k].iloc[0] for k in ("model", "layer") if k in source.descriptors}
    return {k: source.attrs[k] for k in ("model", "layer") if k in source.attrs}
