"""Stimuli, responses, RDM containers, dataset loaders, fetching and simulated brains."""
