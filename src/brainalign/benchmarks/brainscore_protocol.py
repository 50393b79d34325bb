"""Benchmarks that follow Brain-Score's protocol, registered beside ours at import.

``Cowley2023.V4-pls`` is Brain-Score's neural benchmark recipe on the public session with repeats (210325):
``crossregressed-correlation`` (PLS-25, 10 seeded 90/10 splits, median over neuroids per split, mean over splits)
and the internal-consistency ceiling, ``value = clip((raw / ceiling)², 0, 1)``. ``Cowley2023.V4-pls-<session>``
score the other sessions the same way; their responses are repeat-averaged, so they have no ceiling (raw r).
Stimuli are presented as Brain-Score presents them (``presentation_degrees``): placed at
:data:`COWLEY_DEGREES` in the model's 8° field and resized to the model's input without a centre crop (version 2;
version 1 showed ``efficientnet_lite0`` only the central 98 of the 112 pixels). ``Cowley2023.V4-ridge`` keeps our
protocol and numbers. :func:`brain_score_pca` is Brain-Score's optional
PCA-1000 of each layer, fitted on a folder of images the user names (Brain-Score uses 1,000 ImageNet images).

>>> from brainalign.benchmarks.registry import get_benchmark
>>> get_benchmark("Cowley2023.V4-pls").metric_options["ceiling"]
'internal-consistency'
"""

from __future__ import annotations

import functools
import os

from brainalign.benchmarks.benchmark import Benchmark
from brainalign.benchmarks.registry import COWLEY, register_benchmark
from brainalign.data.stimuli import StimulusSet
from brainalign.mapping.reduction import PCA
from brainalign.models.projection import Projection

BRAIN_SCORE_PCA_COMPONENTS = 1000

# The visual angle of Cowley et al.'s images is stated neither with the released files nor in a source found here
# (the dataset's ``visual_degrees`` is None), so these benchmarks use Brain-Score's default field, 8° (as Brain-Score
# does for MajajHong2015, Kar2019, Hebart2023, ...): the whole image fills the model's input.
COWLEY_DEGREES = 8.0
PROTOCOL_VERSION = 2  # 2: Brain-Score's presentation (whole stimulus, no centre crop)

RAW_SESSION = "210325"  # the public session released with single repeats
AVERAGED_SESSIONS = ("190923", "190925", "190927", "190928", "190929", "201025", "210224", "210225", "210305",
                     "210322", "210621")

BRAIN_SCORE_BENCHMARKS = (
    Benchmark(f"{COWLEY}.V4-pls", COWLEY, "V4", "crossregressed-correlation", "responses",
              version=PROTOCOL_VERSION, selection={"session": RAW_SESSION},
              metric_options={"regression": "pls", "ceiling": "internal-consistency"},
              presentation_degrees=COWLEY_DEGREES,
              description=("Brain-Score protocol: macaque V4 session 210325 (50 neurons x 640 images with repeats); "
                           "PLS-25, 10 splits of 90/10; median over neurons per split, mean over splits; "
                           "(r / internal consistency)^2 clamped to [0, 1]")),
    *(Benchmark(f"{COWLEY}.V4-pls-{session}", COWLEY, "V4", "crossregressed-correlation", "responses",
                version=PROTOCOL_VERSION, selection={"session": session},
                metric_options={"regression": "pls", "ceiling": None}, presentation_degrees=COWLEY_DEGREES,
                description=(f"Brain-Score protocol on macaque V4 session {session}: PLS-25, 10 splits of 90/10, "
                             "median over neurons per split, mean over splits; repeat-averaged responses have no "
                             "repeats, so no ceiling: the value is the raw r"))
      for session in AVERAGED_SESSIONS),
)

for _benchmark in BRAIN_SCORE_BENCHMARKS:
    register_benchmark(_benchmark)


def brain_score_pca(folder: str | os.PathLike, n_components: int = BRAIN_SCORE_PCA_COMPONENTS,
                    pattern: str = "*") -> Projection:
    """A `Projection` that reduces each layer to ``n_components`` principal components fitted on that layer's
    features of the images in ``folder`` (Brain-Score's PCA-1000 on ImageNet images), before any mapping.

    >>> import tempfile
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     Image.new("RGB", (8, 8), (i, i, i)).save(f"{folder}/{i}.png")
    >>> projection = brain_score_pca(folder, n_components=2)
    >>> len(projection.fit_stimuli), projection.reducer().n_components
    (3, 2)
    """
    return Projection(functools.partial(PCA, n_components), StimulusSet.from_folder(folder, pattern=pattern))
