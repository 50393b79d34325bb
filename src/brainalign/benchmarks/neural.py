"""Neural benchmarks of the dataset loaders:

* Cowley2023 V4 ridge per session and per published split (:class:`SessionPoolBenchmark`);
* Brain-Score's public MajajHong2015 (V4, IT) and FreemanZiemba2013 (V1, V2) PLS benchmarks;
* ridge with a published per-voxel ceiling (:class:`PublishedCeilingBenchmark`): NSD ROIs, THINGS-fMRI ROIs;
* ridge with a split-half ceiling: TVSD (V1, V4, IT), and per 10 ms bin of its trials (``-ridge-time``);
* time-resolved (:class:`TimeResolvedBenchmark`): THINGS-EEG2 temporal RSA and ridge per time point (version 2:
  the images are 7° wide, as the authors' data_collection_train.m sets, which changes what a model sees on screen),
  MajajHong2015 ridge per time bin;
* Algonauts 2019 RSA (fMRI EVC / IT, MEG early / late; 92 and 118 images);
* LeBel 2023 story listening (:class:`StoryBenchmark`: FIR-delayed ridge, story-grouped folds; version 2: the
  authors' TR timing, see `brainalign.data.datasets.lebel2023`, and features z-scored within each story).

``Cowley2023.V4-ridge-<session>`` score each released session with 5-fold ridge as ``Cowley2023.V4-ridge`` does
for 210325; their responses are repeat-averaged, so they have no ceiling (the value is the median r).
``Cowley2023.V4-ridge-train`` / ``-test`` follow the paper's split of sessions (``readme_original.txt``): the
neurons differ between sessions, so each session gets its own cross-validated mapping and the per-neuron r of all
sessions of the split are pooled (:class:`SessionPoolBenchmark`).

>>> from brainalign.benchmarks.registry import get_benchmark
>>> get_benchmark("Cowley2023.V4-ridge-test").sessions
('190923', '201025', '210225', '210325')
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import COWLEY, register_benchmark
from brainalign.core.errors import InvalidInputError
from brainalign.core.labels import NEUROID, REPETITION, STIMULUS, TIME, align, stimulus_ids
from brainalign.core.score import Score
from brainalign.data.datasets.cowley2023 import DEFAULT_SESSION, Cowley2023, sessions_in_split
from brainalign.data.datasets.nsd import NSD
from brainalign.data.stimuli import StimulusSet


class SessionPoolBenchmark(Benchmark):
    """A benchmark over several recording sessions (``selection={"sessions": (...)}``): the model sees the
    stimuli of all of them; each session is scored alone with the benchmark's metric (its own cross-validated
    mapping, as its neurons saw only its stimuli), and the per-neuroid scores of all sessions are pooled:
    ``value`` is their median, ``error`` the SEM over the sessions' medians, ``extra["per_session"]`` each
    session's median.
    """

    @property
    def sessions(self) -> tuple[str, ...]:
        return tuple(self.selection["sessions"])

    def stimulus_set(self) -> StimulusSet:
        """The stimuli of every session, session after session (ids are unique: ``<session>/<image>``)."""
        dataset = self._dataset()
        return concatenate_stimulus_sets(self.identifier,
                                         [dataset.stimulus_set(session=session) for session in self.sessions])

    def target_data(self) -> dict[str, xr.DataArray]:
        """Each session's `Responses` (loaded once per process)."""
        return _session_targets(self)

    def __call__(self, features: xr.DataArray, *, ci: float | None = None, n_samples: int = 1000) -> Score:
        if ci is not None:
            raise InvalidInputError(f"benchmark {self.identifier} pools sessions and has no bootstrap interval; "
                                    "score one session's benchmark (e.g. Cowley2023.V4-ridge-<session>) with ci")
        from brainalign.metrics.registry import get_metric

        position = {s: i for i, s in enumerate(stimulus_ids(features, "features"))}
        scores = {}
        for session, responses in self.target_data().items():
            wanted = [str(s) for s in responses["stimulus_id"].values]
            missing = [s for s in wanted if s not in position]
            if missing:
                raise InvalidInputError(f"features lack {len(missing)} stimuli of session {session} (e.g. "
                                        f"{missing[:3]}); extract features of benchmark.stimulus_set()")
            session_features = features.isel({STIMULUS: [position[s] for s in wanted]})
            scores[session] = get_metric(self.metric)(session_features, responses, **self.metric_options)
        pooled = xr.concat([xr.DataArray(s.per_neuroid) if not isinstance(s.per_neuroid, xr.DataArray)
                            else s.per_neuroid for s in scores.values()], dim=NEUROID)
        medians = np.array([s.value for s in scores.values()])
        finite = pooled.values[np.isfinite(pooled.values)]
        value = float(np.median(finite)) if finite.size else math.nan
        error = float(np.std(medians, ddof=1) / np.sqrt(len(medians))) if len(medians) > 1 else math.nan
        score = Score(value=value, error=error, per_neuroid=pooled,
                      extra={"per_session": {k: s.value for k, s in scores.items()}, "n_neuroids": pooled.size,
                             "n_sessions": len(scores), "error_kind": "SEM over sessions"})
        first = next(iter(scores.values()))
        score.provenance.update(benchmark=self.identifier, benchmark_version=self.version, metric=self.metric,
                                layer=features.attrs.get("layer"), model=features.attrs.get("model"),
                                seed=first.provenance.get("seed"), n_splits=first.provenance.get("n_splits"))
        return score


@functools.lru_cache(maxsize=4)
def _session_targets(benchmark: SessionPoolBenchmark) -> dict[str, xr.DataArray]:
    dataset = benchmark._dataset()
    return {session: dataset.responses(benchmark.region, session=session) for session in benchmark.sessions}


def concatenate_stimulus_sets(identifier: str, parts: list[StimulusSet]) -> StimulusSet:
    """One `StimulusSet` holding ``parts`` one after the other (same modality; ids must stay unique).

    >>> a = StimulusSet("a", ["a/1"], texts=["x"], modality="text")
    >>> concatenate_stimulus_sets("ab", [a, StimulusSet("b", ["b/1"], texts=["y"], modality="text")]).texts
    ['x', 'y']
    """
    if not parts:
        raise InvalidInputError("concatenate_stimulus_sets needs at least one stimulus set")
    modalities = {p.modality for p in parts}
    if len(modalities) > 1:
        raise InvalidInputError(f"cannot concatenate stimulus sets of modalities {sorted(modalities)}")

    def joined(name: str) -> list | None:
        content = [getattr(p, name) for p in parts]
        return None if any(c is None for c in content) else [item for c in content for item in c]

    return StimulusSet(identifier, [s for p in parts for s in p.stimulus_ids], paths=joined("paths"),
                       texts=joined("texts"), modality=parts[0].modality,
                       metadata=pd.concat([p.metadata for p in parts], ignore_index=True))


_RIDGE = "5-fold ridge; score = median over neurons of held-out r (repeat-averaged responses: no ceiling)"
COWLEY_SESSION_BENCHMARKS = tuple(
    Benchmark(f"{COWLEY}.V4-ridge-{session}", COWLEY, "V4", "ridge", "responses", selection={"session": session},
              description=f"macaque V4 session {session}; {_RIDGE}")
    for session in Cowley2023.sessions if session != DEFAULT_SESSION
)
COWLEY_SPLIT_BENCHMARKS = tuple(
    SessionPoolBenchmark(f"{COWLEY}.V4-ridge-{split}", COWLEY, "V4", "ridge", "responses",
                         selection={"sessions": sessions_in_split(split)},
                         description=(f"macaque V4, the {split} sessions of Cowley et al. 2023 "
                                      f"({', '.join(sessions_in_split(split))}); each session {_RIDGE}; "
                                      "per-neuron r pooled over sessions, median"))
    for split in ("train", "test")
)

# Brain-Score's public neural benchmarks on their BrainIO data: PLS-25, 10 stratified 90/10 splits, median over
# neuroids per split, mean over splits, (r / internal consistency)^2 clamped to [0, 1]
_BRAIN_SCORE = "PLS-25 on 10 stratified 90/10 splits; (median r / internal consistency)^2 clamped to [0, 1]"
BRAINIO_BENCHMARKS = tuple(
    Benchmark(f"{dataset}.{region}-pls", dataset, region, "crossregressed-correlation", "responses",
              metric_options={"regression": "pls", "ceiling": "internal-consistency", "stratify_coord": stratify},
              description=f"Brain-Score protocol, {dataset} public {region} ({window}); {_BRAIN_SCORE}")
    for dataset, regions, stratify, window in (
        ("MajajHong2015", ("V4", "IT"), "object_name", "multi-unit rates 70-170 ms"),
        ("FreemanZiemba2013", ("V1", "V2"), "texture_type", "single units, mean rate 50-200 ms"))
    for region in regions
)



class PublishedCeilingBenchmark(Benchmark):
    """A ``responses`` benchmark whose per-neuroid ceiling (variance units) the dataset publishes:
    ``dataset.ceiling(region, **selection)`` (e.g. NSD's ncsnr-based noise ceiling)."""

    def reliability(self) -> np.ndarray:
        return _published_ceiling(self)


@functools.lru_cache(maxsize=16)
def _published_ceiling(benchmark: PublishedCeilingBenchmark) -> np.ndarray:
    return benchmark._dataset().ceiling(benchmark.region, **benchmark.selection)


NSD_BENCHMARKS = tuple(
    PublishedCeilingBenchmark(f"NSD.{region}-ridge", "NSD", region, "ridge", "responses",
                              selection={"subject": "subj01", "images": "shared1000"}, ceiling="ncsnr",
                              description=(f"human fMRI (NSD, Algonauts 2023 release), subject 1, {region} vertices, "
                                           "the shared-1000 images in its training split; 5-fold ridge; median over "
                                           "vertices of r·|r| / NSD noise ceiling (ncsnr, 3 trials)"))
    for region in NSD.regions
)



class TimeResolvedBenchmark(Benchmark):
    """A benchmark on time-resolved responses (EEG, MEG, MUA time bins): the metric is applied at every time
    point, and ``value`` is the peak of the time course (``extra``: ``time_course``, ``time``, ``peak_time``; times
are the ``time`` coordinate, else ``time_bin_start``, else positions).

    ``metric="temporal-rsa"``: the model's RDM against the brain RDM of each time point
    (`brainalign.metrics.similarity.temporal_rsa`; ``metric_options``: ``distance``, default correlation, and
    ``method``, default spearman); any registered encoding metric (e.g. ``"ridge"``) is fitted per time point on
    the repeat-averaged responses. No ceiling.
    """

    def __call__(self, features: xr.DataArray, *, ci: float | None = None, n_samples: int = 1000) -> Score:
        if ci is not None:
            raise InvalidInputError(f"benchmark {self.identifier} has no bootstrap interval over its time course")
        features, target = align(features, self.target_data())
        if TIME not in target.dims:
            raise InvalidInputError(f"benchmark {self.identifier} needs responses with a '{TIME}' dim; got "
                                    f"{target.dims}")
        options = dict(self.metric_options)
        if self.metric == "temporal-rsa":
            from brainalign.metrics.similarity.rdms import compute_rdm
            from brainalign.metrics.similarity.temporal_rsa import temporal_rsa

            distance = options.get("distance", "correlation")
            course = temporal_rsa(compute_rdm(target, distance=distance), compute_rdm(features, distance=distance),
                                  options.get("method", "spearman")).values
        else:
            from brainalign.metrics.registry import get_metric

            averaged = target.mean(REPETITION, skipna=True, keep_attrs=True) if REPETITION in target.dims else target
            course = np.array([get_metric(self.metric)(features, averaged.isel({TIME: t}), **options).value
                               for t in tqdm(range(averaged.sizes[TIME]), desc=self.identifier, disable=None)])
        course = np.asarray(course, dtype=float)
        label = next((c for c in (TIME, "time_bin_start") if c in target.coords), None)  # BrainIO: bin starts
        times = target[label].values if label else np.arange(target.sizes[TIME])
        peak = int(np.nanargmax(course)) if np.isfinite(course).any() else 0
        score = Score(value=float(course[peak]), extra={"time_course": course, "time": np.asarray(times, dtype=float),
                                                        "peak_time": float(times[peak])})
        score.provenance.update(benchmark=self.identifier, benchmark_version=self.version, metric=self.metric,
                                layer=features.attrs.get("layer"), model=features.attrs.get("model"))
        return score

    def units(self, normalised: bool) -> str:
        return ("ρ" if self.metric == "temporal-rsa" else "r") + " at the peak time"


MAJAJHONG_TEMPORAL_BENCHMARKS = tuple(
    TimeResolvedBenchmark(f"MajajHong2015.{region}-ridge-time", "MajajHong2015.temporal", region, "ridge",
                          "responses", description=(f"macaque {region} multi-unit rates in time bins (Brain-Score's "
                                                    "MajajHong2015 temporal public assembly); 5-fold ridge per time "
                                                    "bin on repeat-averaged rates; median r; value = peak"))
    for region in ("V4", "IT")
)
THINGS_FMRI_BENCHMARKS = tuple(
    PublishedCeilingBenchmark(f"THINGSfMRI.{region}-ridge", "THINGSfMRI", region, "ridge", "responses",
                              selection={"subject": "sub-01", "split": "test"}, ceiling="nc_testset",
                              description=(f"human fMRI (THINGS-fMRI), subject 1, {region} voxels, the 100 test images "
                                           "(12 repetitions, averaged); 5-fold ridge; median over voxels of r·|r| / "
                                           "the published noise ceiling (nc_testset)"))
    for region in ("V1", "V2", "V3", "hV4", "LOC", "FFA", "PPA", "EBA")
)
TVSD_BENCHMARKS = tuple(
    Benchmark(f"TVSD.{region}-ridge", "TVSD", region, "ridge", "responses",
              selection={"monkey": "monkeyN", "split": "test"}, ceiling="split-half",
              description=(f"macaque {region} multi-unit activity (TVSD, monkey N), 100 THINGS test images x 30 "
                           "repetitions; 5-fold ridge; median over electrodes of r·|r| / split-half reliability"))
    for region in ("V1", "V4", "IT")
)
TVSD_TIME_BENCHMARKS = tuple(
    TimeResolvedBenchmark(f"TVSD.{region}-ridge-time", "TVSD", region, "ridge", "responses",
                          selection={"monkey": "monkeyN", "split": "test", "bin_ms": 10},
                          description=(f"macaque {region} multi-unit activity in 10 ms bins (TVSD trials, monkey N, "
                                       "z-scored per electrode and day as the authors do), 100 THINGS test images x "
                                       "30 repetitions; 5-fold ridge per bin on repeat-averaged MUA; median r; "
                                       "value = peak"))
    for region in ("V1", "V4", "IT")
)
THINGS_EEG2_BENCHMARKS = (
    TimeResolvedBenchmark("THINGSEEG2.test-temporal-rsa", "THINGSEEG2", "occipitoparietal", "temporal-rsa",
                          "responses", selection={"subject": "sub-01", "split": "test"}, version=2,
                          description=("human EEG (THINGS-EEG2), subject 1, 200 test images x 80 repetitions, 17 "
                                       "channels x 100 time points; Spearman between the model's correlation-"
                                       "distance RDM and the EEG RDM of each time point; value = peak")),
    TimeResolvedBenchmark("THINGSEEG2.test-ridge-time", "THINGSEEG2", "occipitoparietal", "ridge", "responses",
                          selection={"subject": "sub-01", "split": "test"}, version=2,
                          description=("human EEG (THINGS-EEG2), subject 1, 200 test images; 5-fold ridge per time "
                                       "point on repeat-averaged channels; median r over channels; value = peak")),
)

ALGONAUTS2019_BENCHMARKS = tuple(
    Benchmark(f"Algonauts2019-{images}.{region}-rsa", f"Algonauts2019-{images}", region, "rsa", "rdms",
              description=(f"human {'fMRI' if region in ('EVC', 'IT') else 'MEG'} RDMs of the {images}-image set "
                           f"(Algonauts 2019 training data), 15 subjects; Spearman RSA; LOSO noise ceiling"))
    for images in ("92", "118") for region in ("EVC", "IT", "MEG-early", "MEG-late")
)



class StoryBenchmark(Benchmark):
    """Voxelwise encoding of story listening: the model's features of each TR text are z-scored within their story
    and get FIR copies delayed by ``delays`` TRs within it (the HRF), as the authors' encoding code does; the
    metric (ridge) is cross-validated over folds that hold out whole stories (``metric_options``: ``delays``,
    default 1-4, ``n_splits``, default 5)."""

    def __call__(self, features: xr.DataArray, *, ci: float | None = None, n_samples: int = 1000) -> Score:
        from brainalign.core.labels import make_features
        from brainalign.data.datasets.lebel2023 import make_delayed, story_splits
        from brainalign.metrics.registry import get_metric

        if ci is not None:
            raise InvalidInputError(f"benchmark {self.identifier} has no bootstrap interval (story-grouped CV)")
        options = dict(self.metric_options)
        delays, n_splits = tuple(options.pop("delays", (1, 2, 3, 4))), options.pop("n_splits", 5)
        features, target = align(features, self.target_data())
        stories = target["story"].values
        values = np.asarray(features.values, dtype=float)
        delayed = np.concatenate([make_delayed(zscore_columns(values[stories == story]), delays)
                                  for story in dict.fromkeys(stories.tolist())])
        delayed_features = make_features(delayed, target["stimulus_id"].values, layer=features.attrs.get("layer"),
                                         model=features.attrs.get("model"))
        score = get_metric(self.metric)(delayed_features, target, splits=story_splits(stories, n_splits), **options)
        score.provenance.update(benchmark=self.identifier, benchmark_version=self.version, delays=list(delays),
                                layer=features.attrs.get("layer"), model=features.attrs.get("model"))
        return score


def zscore_columns(values: np.ndarray) -> np.ndarray:
    """Each column minus its mean, over its standard deviation (constant columns become 0).

    >>> zscore_columns(np.array([[1.0, 5.0], [3.0, 5.0]])).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    """
    std = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(std > 0, std, 1.0)


LEBEL_STORIES = ("alternateithicatom", "avatar", "howtodraw", "legacy", "life", "myfirstdaywiththeyankees", "naked",
                 "odetostepfather", "souls", "undertheinfluence")
LEBEL_BENCHMARKS = (
    StoryBenchmark("LeBel2023.UTS01-ridge", "LeBel2023", "cortex", "ridge", "responses", version=2,
                   selection={"subject": "UTS01", "stories": LEBEL_STORIES},
                   description=("human fMRI while listening to 10 stories (LeBel et al. 2023), subject UTS01, whole "
                                "cortex; features of the last 20 words per TR, FIR delays 1-4 TRs; ridge with "
                                "5 story-held-out folds; median r over voxels (no ceiling). Version 2: TR texts "
                                "on the authors' timing (row j heard 2j+10 to 2j+12 s; N - 20 rows per story) "
                                "and features z-scored within each story")),
)

for _benchmark in (*COWLEY_SESSION_BENCHMARKS, *COWLEY_SPLIT_BENCHMARKS, *BRAINIO_BENCHMARKS, *NSD_BENCHMARKS,
                   *THINGS_EEG2_BENCHMARKS, *ALGONAUTS2019_BENCHMARKS, *MAJAJHONG_TEMPORAL_BENCHMARKS,
                   *LEBEL_BENCHMARKS, *THINGS_FMRI_BENCHMARKS, *TVSD_BENCHMARKS,
                   *TVSD_TIME_BENCHMARKS):
    register_benchmark(_benchmark)
