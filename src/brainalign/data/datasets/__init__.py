"""Built-in dataset loaders; importing this package registers them (see `brainalign.data.registry`)."""

from brainalign.data.datasets import (  # noqa: F401
    algonauts2019,
    bold_moments,
    bonner2017,
    brainio,
    cowley2023,
    futrell2018,
    geirhos2021,
    kriegeskorte2008,
    lebel2023,
    marques2020,
    net2brain78,
    nsd,
    things_eeg2,
    things_fmri,
    tvsd,
)
