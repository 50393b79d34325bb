"""I2n (Rajalingham, Issa et al. 2018), computed as Brain-Score's ``I2n`` metric: image-by-distractor normalised d′.

Trials are binary match-to-sample choices: an image of object ``truth`` is shown, then ``truth`` and one
``distractor`` object; ``choice`` is the object picked. Steps (Brain-Score ``metrics/behavior``):

1. response matrix (image × object): the rate of choosing distractor ``c`` on image ``i`` — the trials where ``c``
   was chosen over the trials where ``c`` was the distractor (NaN at ``c = truth`` and for pairs never shown). A
   model's matrix comes from its object probabilities: ``p_c / (p_c + p_truth)``.
2. d′ = z(hit rate) − z(false-alarm rate), hit rate = 1 − rate; the false-alarm rate of (truth ``t``, distractor
   ``c``) is the mean over the images of ``c`` of their rate of choosing ``t``. Clipped to [−5, 5].
3. normalisation: subtract, per (truth object, distractor), the mean over the images of that object.
4. consistency: Pearson r over the entries that are not NaN in the target. The human data are split in halves of
   trials (``RandomState(0)`` shuffles, 2 repetitions); the model is compared with the first half, the ceiling is the
   r between the two halves, and the score is mean(model r) / mean(ceiling r). The ceiling leaves out entries that
   are NaN in either half (Brain-Score stops with an error there; where it does not, the numbers are the same).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.stats

from brainalign.core.errors import InvalidInputError
from brainalign.core.score import Score

CAP = 5.0
TRIAL_COLUMNS = ("stimulus_id", "truth", "distractor", "choice")


def check_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """Raise unless ``trials`` has the columns of `TRIAL_COLUMNS` and every choice is its truth or distractor."""
    missing = [c for c in TRIAL_COLUMNS if c not in trials.columns]
    if missing:
        raise InvalidInputError(f"trials lack columns {missing}; need {', '.join(TRIAL_COLUMNS)}")
    bad = ~((trials["choice"] == trials["truth"]) | (trials["choice"] == trials["distractor"]))
    if bad.any():
        row = trials[bad].iloc[0]
        raise InvalidInputError(f"{int(bad.sum())} trials chose neither the truth nor the distractor, e.g. "
                                f"{row['choice']!r} on {row['stimulus_id']!r} "
                                f"({row['truth']!r} vs {row['distractor']!r})")
    return trials


def response_matrix(trials: pd.DataFrame, objects: Sequence[str] | None = None) -> pd.DataFrame:
    """Images × objects: the rate of choosing each object when it was the distractor (step 1; ``truth`` column).

    >>> t = pd.DataFrame({"stimulus_id": ["a"] * 4, "truth": "dog", "distractor": ["cat", "cat", "cat", "car"],
    ...                   "choice": ["cat", "dog", "dog", "dog"]})
    >>> response_matrix(t, ["car", "cat", "dog"]).round(3).values.tolist()
    [[0.0, 0.333, nan, 'dog']]
    """
    trials = check_trials(trials)
    objects = sorted(set(trials["truth"]) | set(trials["distractor"])) if objects is None else list(objects)
    shown = trials.groupby(["stimulus_id", "distractor"]).size()
    chosen = trials[trials["choice"] == trials["distractor"]].groupby(["stimulus_id", "distractor"]).size()
    rates = (chosen.reindex(shown.index, fill_value=0) / shown).unstack("distractor")
    rates = rates.reindex(columns=objects).sort_index()
    truth = trials.drop_duplicates("stimulus_id").set_index("stimulus_id")["truth"].reindex(rates.index)
    rates = rates.mask(truth.to_numpy()[:, None] == np.asarray(objects)[None, :])
    return rates.astype(float).assign(truth=truth)


def model_response_matrix(probabilities: pd.DataFrame, truth: pd.Series) -> pd.DataFrame:
    """Step 1 for a model: ``p_c / (p_c + p_truth)`` from images × objects ``probabilities`` (``truth`` per image).

    >>> p = pd.DataFrame({"cat": [0.2], "dog": [0.6], "car": [0.2]}, index=["a"])
    >>> model_response_matrix(p, pd.Series({"a": "dog"}))[["car", "cat", "dog"]].values.tolist()
    [[0.25, 0.25, nan]]
    """
    missing = sorted(set(truth.index) - set(probabilities.index))
    if missing:
        raise InvalidInputError(f"no model probabilities for {len(missing)} images, e.g. {missing[:3]}")
    unknown = sorted(set(truth) - set(probabilities.columns))
    if unknown:
        raise InvalidInputError(f"unknown objects {unknown[:3]}; the model's objects are "
                                f"{', '.join(map(str, probabilities.columns))}")
    p = probabilities.loc[truth.index].astype(float)
    p_truth = p.to_numpy()[np.arange(len(p)), [p.columns.get_loc(t) for t in truth]]
    rates = p / (p + p_truth[:, None])
    rates = rates.mask(truth.to_numpy()[:, None] == p.columns.to_numpy()[None, :])
    return rates.sort_index().assign(truth=truth.sort_index())


def normalized_dprimes(rates: pd.DataFrame, cap: float = CAP, normalize: bool = True) -> pd.DataFrame:
    """Steps 2 and 3: clipped d′ of each (image, distractor), minus its object's mean when ``normalize``.

    >>> r = pd.DataFrame({"a": [np.nan, np.nan, 0.2, 0.4], "b": [0.1, 0.3, np.nan, np.nan],
    ...                   "truth": ["a", "a", "b", "b"]}, index=["a1", "a2", "b1", "b2"])
    >>> d = normalized_dprimes(r, normalize=False)
    >>> bool(np.isclose(d.loc["a1", "b"], scipy.stats.norm.ppf(0.9) - scipy.stats.norm.ppf(0.3)))
    True
    >>> normalized_dprimes(r)["b"].round(4).tolist()[:2]
    [0.3786, -0.3786]
    """
    objects = [c for c in rates.columns if c != "truth"]
    values = rates[objects].to_numpy(dtype=float)
    truth = rates["truth"].to_numpy()
    # false-alarm rate of (t, c): mean over the images of object c of their rate of choosing t
    false_alarms = pd.DataFrame(values, columns=objects).groupby(truth).mean()  # object c × chosen t
    fa = np.array([[false_alarms.at[c, t] if c in false_alarms.index else np.nan for c in objects] for t in truth])
    with np.errstate(invalid="ignore"):
        dprime = np.clip(scipy.stats.norm.ppf(1 - values) - scipy.stats.norm.ppf(fa), -cap, cap)
    result = pd.DataFrame(dprime, index=rates.index, columns=objects)
    if normalize:
        result = result - result.groupby(truth).transform("mean")
    return result.assign(truth=truth)


def consistency(source: pd.DataFrame, target: pd.DataFrame, skipna: bool = False) -> float:
    """Step 4: Pearson r of two d′ matrices over the entries that are not NaN in ``target`` (and ``source`` when
    ``skipna``); a NaN in ``source`` at such an entry is an error otherwise, as in Brain-Score."""
    objects = sorted(c for c in target.columns if c != "truth")
    if set(source.index) != set(target.index) or sorted(c for c in source.columns if c != "truth") != objects:
        raise InvalidInputError("the two d' matrices must cover the same images and objects")
    s = source.loc[target.index, objects].to_numpy(dtype=float).ravel()
    t = target[objects].to_numpy(dtype=float).ravel()
    keep = ~np.isnan(t) & (~np.isnan(s) if skipna else True)
    if np.isnan(s[keep]).any():
        raise InvalidInputError(f"the source has NaN d' at {int(np.isnan(s[keep]).sum())} entries the target has")
    return float(scipy.stats.pearsonr(s[keep], t[keep]).statistic)


def trial_halves(trials: pd.DataFrame, random_state: np.random.RandomState) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two halves of the trials from one shuffle of their positions (Brain-Score's ``generate_halves``)."""
    indices = list(range(len(trials)))
    random_state.shuffle(indices)
    half = len(indices) // 2
    return trials.iloc[indices[:half]], trials.iloc[indices[half:]]


def i2n(probabilities: pd.DataFrame, trials: pd.DataFrame, repetitions: int = 2, cap: float = CAP) -> Score:
    """I2n consistency of a model's object ``probabilities`` (images × objects) with human ``trials``.

    ``raw``: mean over repetitions of r(model, first half of the trials); ``ceiling``: mean r(half, half);
    ``value = raw / ceiling``; ``error``: standard deviation of the model's r over repetitions.
    """
    trials = check_trials(trials)
    objects = sorted(set(trials["truth"]) | set(trials["distractor"]))
    absent = [o for o in objects if o not in probabilities.columns]
    if absent:
        raise InvalidInputError(f"the model has no probability for objects {absent} of the trials; the trials' "
                                f"objects: {', '.join(objects)}; the model's: "
                                f"{', '.join(map(str, probabilities.columns))}")
    truth = trials.drop_duplicates("stimulus_id").set_index("stimulus_id")["truth"]
    model = normalized_dprimes(model_response_matrix(probabilities[objects], truth), cap)
    model_r, ceiling_r = [], []
    score_state, ceiling_state = np.random.RandomState(0), np.random.RandomState(0)  # same halves for both
    for _ in range(repetitions):
        first = trial_halves(trials, score_state)[0]
        model_r.append(consistency(model, _dprimes(first, objects, cap, truth)))
        half_a, half_b = (_dprimes(h, objects, cap, truth) for h in trial_halves(trials, ceiling_state))
        ceiling_r.append(consistency(half_a, half_b, skipna=True))
    raw, ceiling = float(np.mean(model_r)), float(np.mean(ceiling_r))
    return Score(raw / ceiling, raw=raw, ceiling=ceiling, error=float(np.std(model_r)), per_split=np.array(model_r),
                 extra={"ceiling_per_split": ceiling_r, "n_trials": len(trials), "n_images": len(truth)})


def _dprimes(trials: pd.DataFrame, objects: list[str], cap: float, truth: pd.Series) -> pd.DataFrame:
    """Normalised d' of some of the trials, with an all-NaN row for each image they do not show."""
    rates = response_matrix(trials, objects)
    missing = truth.index.difference(rates.index)
    if len(missing):
        filler = pd.DataFrame(np.nan, index=missing, columns=objects).assign(truth=truth[missing])
        rates = pd.concat([rates, filler]).sort_index()
    return normalized_dprimes(rates, cap)
