"""Representational similarity analysis: the model's RDM compared with brain RDMs, with a noise ceiling.

``rsa`` is the registered metric. With several subject RDMs (descriptor ``subject``; sessions of a subject
are averaged first) the score keeps the per-subject correlations (``per_split``), its raw value is their mean,
its error their SEM, and its ceiling the LOWER noise-ceiling bound (Net2Brain's convention: ``value = raw /
lower``, also given as ``extra["percent_of_ceiling"]``; the upper bound is ``extra["ceiling_upper"]``). With a
single target RDM (e.g. one monkey's IT) there is no ceiling and ``value = raw``.

A ceiling is only used for normalisation when the subjects agree: their leave-one-subject-out similarities
must be significantly above 0 (one-sided t-test, p < ``CEILING_ALPHA``). Otherwise dividing by a lower bound
near 0 would inflate the score without limit, so ``value = raw`` with a warning and
``extra["ceiling_reliable"] = False``.

Undefined scores are NaN with one warning, never a plausible number: fewer than ``MIN_STIMULI`` stimuli,
features that are the same for every stimulus (a constant model RDM), or a constant brain RDM.
Backend, device and dtype come from the compute context (:func:`brainalign.core.config.config_context`).

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

import numpy as np
import xarray as xr
from scipy import stats

from brainalign.core.labels import stimulus_ids
from brainalign.core.score import Score
from brainalign.data.rdm import RDM
from brainalign.metrics.ceilings.noise_ceiling import rdm_noise_ceiling, rdm_noise_ceiling_per_subject
from brainalign.metrics.similarity.rdm_comparison import compare_rdms, matched
from brainalign.metrics.similarity.rdms import compute_rdm
from brainalign.metrics.registry import register_metric

CEILING_ALPHA = 0.05
MIN_STIMULI = 4


@register_metric("rsa")
def rsa(
    source: xr.DataArray,
    target: RDM,
    *,
    distance: str = "correlation",
    comparison: str = "spearman",
) -> Score:
    """RSA score of `Features` ``source`` against brain RDM(s) ``target`` (see the module docstring)."""
    subjects, per_subject = _per_subject_similarity(source, target, distance, comparison)
    provenance = {"metric": "rsa", "distance": distance, "comparison": comparison,
                  **{k: source.attrs[k] for k in ("model", "layer") if k in source.attrs}}
    raw = float(per_subject.mean())
    if subjects.n_rdms < 2 or math.isnan(raw):
        return Score(value=raw, raw=raw, per_split=per_subject, provenance=provenance)
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
               "ceiling_reliable": reliable, "ceiling_agreement_p": agreement_p},
        provenance=provenance,
    )


def rsa_subject_averaged(
    source: xr.DataArray,
    target: RDM,
    *,
    squared: bool = False,
    distance: str = "correlation",
    comparison: str = "spearman",
) -> Score:
    """Net2Brain-style subject-averaged RSA: mean over subjects of r (or of r² with ``squared=True``),
    SEM across subjects, a one-sample t-test against 0 (``extra["p_value"]``), and the percentage of the lower
    noise ceiling (on the same scale: squared bounds when ``squared``).

    >>> import numpy as np
    >>> from brainalign.core.labels import make_features
    >>> from brainalign.data.rdm import RDM
    >>> ids = [f"s{i}" for i in range(8)]
    >>> features = make_features(np.random.default_rng(0).normal(size=(8, 5)), ids)
    >>> own = compute_rdm(features).condensed
    >>> noisy = RDM(own + np.random.default_rng(1).normal(0, 0.1, (4, own.shape[1])), ids)
    >>> score = rsa_subject_averaged(features, noisy, squared=True)
    >>> bool(0 < score.raw <= 1), sorted(score.extra)
    (True, ['ceiling_upper', 'p_value', 'percent_of_ceiling'])
    """
    subjects, per_subject = _per_subject_similarity(source, target, distance, comparison)
    values = per_subject**2 if squared else per_subject
    raw = float(values.mean())
    defined = subjects.n_rdms > 1 and not math.isnan(raw)
    lower, upper = rdm_noise_ceiling(subjects, comparison) if defined else (math.nan, math.nan)
    if squared:
        lower, upper = lower**2, upper**2
    p_value = float(stats.ttest_1samp(values, 0.0).pvalue) if defined else math.nan
    return Score(
        value=raw, raw=raw, ceiling=lower, error=float(stats.sem(values)) if defined else math.nan,
        per_split=values,
        extra={"percent_of_ceiling": 100 * raw / lower, "ceiling_upper": upper, "p_value": p_value},
        provenance={"metric": "rsa-subject-averaged" + ("-squared" if squared else ""), "comparison": comparison},
    )


def _per_subject_similarity(source: xr.DataArray, target: RDM, distance: str,
                            comparison: str) -> tuple[RDM, np.ndarray]:
    """The target averaged within subjects and reordered to the features, and r per subject (NaN, with one
    warning, when RSA is undefined for these inputs)."""
    ids = stimulus_ids(source, "RSA features")
    subjects = target.subject_means()
    undefined = _why_undefined(source, len(ids))
    if undefined:
        warnings.warn(f"RSA is undefined: {undefined}; the score is NaN", RuntimeWarning, stacklevel=3)
        return subjects, np.full(subjects.n_rdms, math.nan)
    model_rdm = compute_rdm(source, distance=distance)
    subjects = matched(model_rdm, subjects)
    per_subject = compare_rdms(model_rdm, subjects, comparison)[0]
    return subjects, np.asarray(per_subject, dtype=float)


def _why_undefined(source: xr.DataArray, n_stimuli: int) -> str | None:
    """Why the model RDM of ``source`` cannot be compared (too few stimuli, identical features), or None."""
    if n_stimuli < MIN_STIMULI:
        return f"it needs at least {MIN_STIMULI} stimuli; got {n_stimuli}"
    values = np.asarray(source.values)
    if np.all(values == values[:1]):
        return "the features are the same for every stimulus, so the model RDM is constant"
    return None
