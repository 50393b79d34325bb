"""Scene benchmarks: RSA on the per-subject fMRI RDMs of Bonner & Epstein (2017), one benchmark per ROI.

``Bonner2017.<ROI>-rsa`` follow the protocol of ``Net2Brain78.EVC-rsa`` (metric ``rsa`` on the ``rdms`` target):
the model's correlation-distance RDM is compared with each subject's RDM by Spearman correlation of the condensed
RDMs, the score is the mean over subjects, normalised by the lower bound of the leave-one-subject-out noise ceiling
(`brainalign.metrics.similarity.rsa`).

>>> from brainalign.benchmarks.registry import get_benchmark
>>> get_benchmark("Bonner2017.OPA-rsa").region
'OPA'
"""

from __future__ import annotations

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import register_benchmark
from brainalign.data.datasets.bonner2017 import REGIONS, Bonner2017

BONNER2017_BENCHMARKS = tuple(
    Benchmark(f"{Bonner2017.identifier}.{region}-rsa", Bonner2017.identifier, region, "rsa", "rdms",
              description=(f"human fMRI RDMs of {region} for photographs of indoor scenes (Bonner & Epstein 2017, "
                           "Net2Brain's bonner_pnas2017), per subject; Spearman RSA; LOSO noise ceiling"))
    for region in REGIONS
)

for _benchmark in BONNER2017_BENCHMARKS:
    register_benchmark(_benchmark)
