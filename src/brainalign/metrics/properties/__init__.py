"""Single-neuron property benchmarks (Marques et al. 2021): tuning properties of model units and the comparison of
their distribution with the neurons'. See `tuning`, `estimation` and `distribution`."""
