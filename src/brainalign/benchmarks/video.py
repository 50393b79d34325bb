"""Video benchmarks: human fMRI to short naturalistic videos.

``BOLDMoments.<ROI>-ridge`` (one per ROI of the BOLD Moments Dataset): subject 1's single-trial betas to the 102
test videos (10 repetitions each; both hemispheres), 5-fold ridge from a video model's features; the score is the
median over voxels of r·|r| divided by the voxel's split-half reliability (Spearman-Brown), as for TVSD.

>>> from brainalign.benchmarks.registry import get_benchmark
>>> get_benchmark("BOLDMoments.EBA-ridge").selection
{'subject': 'sub-01', 'split': 'test'}
"""

from __future__ import annotations

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import register_benchmark
from brainalign.data.datasets.bold_moments import ROIS

BOLD_MOMENTS_BENCHMARKS = tuple(
    Benchmark(f"BOLDMoments.{roi}-ridge", "BOLDMoments", roi, "ridge", "responses",
              selection={"subject": "sub-01", "split": "test"}, ceiling="split-half",
              description=(f"human fMRI (BOLD Moments, GLMsingle betas, MNI152), subject 1, {roi} voxels of both "
                           "hemispheres, 102 test videos (3 s) x 10 repetitions; 5-fold ridge; median over voxels "
                           "of r·|r| / split-half reliability"))
    for roi in ROIS
)

for _benchmark in BOLD_MOMENTS_BENCHMARKS:
    register_benchmark(_benchmark)
