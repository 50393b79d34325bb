"""Video benchmarks: human fMRI to short naturalistic videos.

``BOLDMoments.<ROI>-ridge``, one per ROI of the BOLD Moments Dataset (``V1``, ``V2``, ``V3`` whole: their
ventral and dorsal parts together; then hV4, the category-selective, parietal and motion ROIs): subject 1's
single-trial betas to the 102 test videos (10 repetitions each; both hemispheres), 5-fold ridge from a video
model's features; the score is the median over voxels of r·|r| divided by the voxel's split-half reliability
(Spearman-Brown), as for TVSD.

>>> from brainalign.benchmarks.registry import get_benchmark
>>> get_benchmark("BOLDMoments.EBA-ridge").selection
{'subject': 'sub-01', 'split': 'test'}
>>> len(BOLD_MOMENTS_REGIONS), BOLD_MOMENTS_REGIONS[:4]
(20, ('V1', 'V2', 'V3', 'hV4'))
"""

from __future__ import annotations

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import register_benchmark
from brainalign.data.datasets.bold_moments import COMBINED, ROIS

BOLD_MOMENTS_REGIONS = (*COMBINED, *(r for r in ROIS if not any(r in parts for parts in COMBINED.values())))



def _named(region: str) -> str:
    return f"{region} ({' + '.join(COMBINED[region])})" if region in COMBINED else region


BOLD_MOMENTS_BENCHMARKS = tuple(
    Benchmark(f"BOLDMoments.{roi}-ridge", "BOLDMoments", roi, "ridge", "responses",
              selection={"subject": "sub-01", "split": "test"}, ceiling="split-half",
              description=(f"human fMRI (BOLD Moments, GLMsingle betas, MNI152), subject 1, {_named(roi)} voxels of "
                           "both hemispheres, 102 test videos (3 s) x 10 repetitions; 5-fold ridge; median over "
                           "voxels of r·|r| / split-half reliability"))
    for roi in BOLD_MOMENTS_REGIONS
)

for _benchmark in BOLD_MOMENTS_BENCHMARKS:
    register_benchmark(_benchmark)
