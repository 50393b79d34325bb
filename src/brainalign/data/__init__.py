"""Stimuli, responses, RDM containers, dataset loaders, fetching and simulated brains."""

from brainalign.data.user import UserDataset, from_arrays, responses_from_trials

__all__ = ["UserDataset", "from_arrays", "responses_from_trials"]
