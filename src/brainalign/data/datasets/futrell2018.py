"""Futrell et al. (2018, 2021): self-paced reading times on the Natural Stories corpus (10 stories, 10,256 words).

Files come from ``languageMIT/naturalstories`` (``naturalstories_RTS/``): ``all_stories.tok`` (one word per row with
its story ``item`` and position ``zone``) and ``processed_wordinfo.tsv`` (per word: ``meanItemRT`` over the 62–97
readers who read it, ``sdItemRT``, ``nItem``). Only these per-word means are redistributed here, not the per-reader
times, so a reader split-half ceiling cannot be recomputed from them (see `brainalign.benchmarks.language`).

Sentences are delimited as Brain-Score language packages the corpus (``data/futrell2018/data_packaging.py``): a word
ending in ``. ? ! .' ?' !' ;'`` ends its sentence unless the next word is lower-case or the word is ``Mr.``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from brainalign.core.errors import InvalidInputError
from brainalign.data.dataset import Dataset
from brainalign.data.fetch import RemoteFile
from brainalign.data.registry import register_dataset
from brainalign.data.stimuli import StimulusSet

_URL = "https://raw.githubusercontent.com/languageMIT/naturalstories/4700daad696e942f5aba23c957a7423d0de66612/"
_TOKENS = "all_stories.tok"
_WORDINFO = "processed_wordinfo.tsv"
_FILES = {  # path in the dataset folder: (path in the repository, sha256)
    _TOKENS: ("naturalstories_RTS/all_stories.tok",
              "0e4e9bd4708aaa01d8bea342696bb83cedff679c09184545483f6f3f4ba8aca3"),
    _WORDINFO: ("naturalstories_RTS/processed_wordinfo.tsv",
                "047d2a0b84eff99d90535d1517f7fa7d466b81fbd60e990f2f08caac04d8aa56"),
    "README": ("naturalstories_RTS/README", "78155aac2a8675cafe6a4514bc8f33331ec29d028bc9fe945c4b0b7756c603e4"),
    "LICENSE.txt": ("LICENSE.txt", "58032a8173195237068ab02d429948bc3233d8e6858d1b9ddfdc47e3bbc3d847"),
}
SENTENCE_ENDS = (".", "?", "!", ".'", "?'", "!'", ";'")


def word_within_sentence(words: list[str]) -> np.ndarray:
    """1-based position of each word in its sentence (Brain-Score language's ``word_within_sentence_id``).

    >>> word_within_sentence(["If", "you", "go.", "Mr.", "Smith", "said", "so.", "and", "left."]).tolist()
    [1, 2, 3, 1, 2, 3, 4, 5, 6]
    """
    positions, position = [], 0
    for i, word in enumerate(words):
        position += 1
        positions.append(position)
        if word.endswith(SENTENCE_ENDS) and word != "Mr." and not (i + 1 < len(words) and words[i + 1].islower()):
            position = 0
    return np.asarray(positions)


@register_dataset
class Futrell2018(Dataset):
    """Natural Stories self-paced reading: mean reading time (ms) of each of 10,256 words of 10 stories."""

    identifier = "Futrell2018"
    folder = "futrell2018"
    citation = ("Futrell, Gibson, Tily, Blank, Vishnevetsky, Piantadosi & Fedorenko (2021). The Natural Stories "
                "corpus: a reading-time corpus of English texts containing rare syntactic constructions. Language "
                "Resources and Evaluation 55:63-77.")
    license = "CC BY-NC-SA 4.0 (research use, attribution; not for redistributed packages)"
    species = "human"
    modality = "behavior"
    regions = ("reading_times",)
    files = tuple(RemoteFile(name, _URL + path, sha) for name, (path, sha) in _FILES.items())

    def stimulus_set(self, **selection: Any) -> StimulusSet:
        """The words in reading order (stories 1–10), ids ``futrell2018/<story>.<zone>``, texts = the words.

        Metadata: ``story``, ``zone``, ``word_within_sentence`` (1 = first word of a sentence)."""
        self._check_selection(selection, {})
        words = self.reading_times()
        return StimulusSet(self.identifier, words["stimulus_id"].tolist(), texts=words["word"].tolist(),
                           modality="text", metadata=words[["story", "zone", "word_within_sentence"]])

    def reading_times(self, region: str = "reading_times") -> pd.DataFrame:
        """One row per word: ``stimulus_id, story, zone, word, word_within_sentence, mean_rt, sd_rt, n_readers``."""
        self._check_region(region)
        return self._words.copy()

    @cached_property
    def _words(self) -> pd.DataFrame:
        tokens = pd.read_csv(self._fetch(_TOKENS), sep="\t", quoting=3, keep_default_na=False)
        info = pd.read_csv(self._fetch(_WORDINFO), sep="\t", quoting=3, keep_default_na=False)
        tokens = tokens.rename(columns={"item": "story"}).sort_values(["story", "zone"], kind="stable")
        info = info.rename(columns={"item": "story", "meanItemRT": "mean_rt", "sdItemRT": "sd_rt",
                                    "nItem": "n_readers"})
        words = tokens.merge(info[["story", "zone", "mean_rt", "sd_rt", "n_readers"]], on=["story", "zone"],
                             how="left", validate="one_to_one").reset_index(drop=True)
        if words["mean_rt"].isna().any():
            missing = words.loc[words["mean_rt"].isna(), ["story", "zone"]].head(3).to_dict("records")
            raise InvalidInputError(f"{_WORDINFO} has no reading time for {int(words['mean_rt'].isna().sum())} words "
                                    f"of {_TOKENS}, e.g. {missing}")
        words["word_within_sentence"] = word_within_sentence(words["word"].tolist())
        words.insert(0, "stimulus_id", [f"{self.folder}/{s}.{z}" for s, z in zip(words["story"], words["zone"],
                                                                                 strict=True)])
        return words
