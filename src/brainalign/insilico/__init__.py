"""In-silico neuroscience: fitted encoding models that generate brain responses to new stimuli."""

from brainalign.insilico.encoding_model import EncodingModel, TamperedFileError

__all__ = ["EncodingModel", "TamperedFileError"]
