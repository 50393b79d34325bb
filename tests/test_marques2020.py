"""Marques2020 loader on the real property assemblies and stimulus tables."""

import numpy as np
import pytest

from brainalign.core.errors import UnknownNameError
from brainalign.data.datasets.marques2020 import SOURCES, Marques2020
from brainalign.data.registry import get_dataset

SHAPES = {"Ringach2002": (304, 12), "DeValois1982a": (246, 1), "DeValois1982b": (232, 1),
          "Cavanaugh2002a": (190, 5), "Schiller1976c": (87, 2), "FreemanZiemba2013": (102, 9)}


@pytest.fixture(scope="module")
def marques(shared_data):
    if not (shared_data / "marques2020").is_dir():
        pytest.skip("marques2020 not in the shared data")
    return get_dataset("Marques2020")


def test_property_assemblies_have_published_sizes_names_and_bins(marques):
    assert set(SOURCES) == set(SHAPES)
    for source, shape in SHAPES.items():
        assembly = marques.properties(source)
        assert assembly.shape == shape and set(assembly["region"].values) == {"V1"}
        for name in assembly["neuronal_property"].values:
            bins = assembly.attrs["bins"][name]
            assert bins.ndim == 1 and np.all(np.diff(bins) > 0), (source, name)
    ringach = marques.properties("Ringach2002")
    assert ringach.attrs["number_of_trials"] == 40
    assert len(ringach.attrs["bins"]["orthogonal_preferred_ratio_circular_variance_difference"]) == 20
    cv = ringach.sel(neuronal_property="circular_variance").values
    assert np.nanmin(cv) > 0 and np.nanmax(cv) < 1
    assert int(np.isnan(marques.properties("Cavanaugh2002a").sel(
        neuronal_property="grating_summation_field")).sum()) == 42


def test_grating_tables_and_unknown_names(marques):
    sizes = {k: len(marques.grating_parameters(k)) for k in ("orientation", "spatial_frequency", "size",
                                                             "receptive_field")}
    assert sizes == {"orientation": 864, "spatial_frequency": 2112, "size": 1728, "receptive_field": 3528}
    with pytest.raises(UnknownNameError, match="Ringach2002"):
        marques.properties("Hubel1962")
    with pytest.raises(UnknownNameError, match="orientation"):
        marques.grating_parameters("color")
    assert isinstance(marques, Marques2020) and marques.info()["species"] == "macaque"
