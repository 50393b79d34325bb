"""Built-in dataset loaders; importing this package registers them (see `brainalign.data.registry`)."""

from brainalign.data.datasets import brainio, cowley2023, geirhos2021, kriegeskorte2008, net2brain78, nsd, things_eeg2  # noqa: F401
