"""Stimuli, responses, RDM containers, dataset loaders, fetching and simulated brains."""

from brainalign.data.dataset import Dataset
from brainalign.data.user import UserDataset, from_arrays, from_folder, responses_from_trials

__all__ = ["Dataset", "UserDataset", "from_arrays", "from_folder", "responses_from_trials"]
