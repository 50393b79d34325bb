"""Show stimuli to a model at the visual angle the subjects saw them (Brain-Score's ``place_on_screen``).

A model sees ``model_degrees`` of visual angle across its input. Stimuli that spanned ``stimulus_degrees``
in the experiment are rescaled by ``ratio = model_degrees / stimulus_degrees``: when the model's field of
view is larger (ratio > 1) the image is centred on a gray (128, 128, 128) canvas ``ratio`` times its size;
when it is smaller (ratio < 1) the central ``ratio`` part is cropped. The model's own preprocessing then
resizes the result to its input size. Placed images are PNG files in the cache, written once.

Brain-Score then resizes the whole placed image to the model's input size, never cropping it:
:func:`uncropped` turns a model's preprocessing into that (resize to ``image_size``, so the centre crop of a
square image cuts nothing), :func:`screen_view` is the image a model sees under that protocol, and
:func:`present` applies it to a loaded model and a stimulus set (what ``runner.score`` does for benchmarks with
``presentation_degrees``).

>>> from PIL import Image
>>> on_screen(Image.new("RGB", (10, 10), "white"), stimulus_degrees=4, model_degrees=8).size
(20, 20)
>>> on_screen(Image.new("RGB", (10, 10), "white"), stimulus_degrees=8, model_degrees=4).size
(5, 5)
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from brainalign.core.config import cache_dir
from brainalign.core.errors import InvalidInputError
from brainalign.core.storage import content_hash
from brainalign.data.stimuli import StimulusSet, write_images
from brainalign.models.sources.base import ImagePreprocessing, LoadedModel

BRAIN_SCORE_MODEL_DEGREES = 8.0  # Brain-Score's default field of view of a model

BACKGROUND = (128, 128, 128)  # PIL's "gray", as in Brain-Score


def on_screen(image: Image.Image, stimulus_degrees: float, model_degrees: float) -> Image.Image:
    """``image`` padded with gray (model sees more) or centre-cropped (model sees less) to the model's field."""
    for name, value in (("stimulus_degrees", stimulus_degrees), ("model_degrees", model_degrees)):
        if not value > 0:
            raise InvalidInputError(f"{name} must be a positive visual angle; got {value}")
    ratio = model_degrees / stimulus_degrees
    if ratio == 1:
        return image
    size = np.array(image.size)
    target = np.maximum((ratio * size).round().astype(int), 1)
    if ratio > 1:
        canvas = Image.new("RGB", tuple(int(t) for t in target), BACKGROUND)
        canvas.paste(image.convert("RGB"), tuple(int(c) for c in ((target - size) / 2).round()))
        return canvas
    left, upper = ((size - target) / 2).round().astype(int)
    return image.crop((int(left), int(upper), int(left + target[0]), int(upper + target[1])))


def place_on_screen(stimuli: StimulusSet, stimulus_degrees: float, model_degrees: float) -> StimulusSet:
    """The same stimuli (same ids and metadata) as placed images; unchanged when the angles agree.

    The identifier records both angles, so features of placed stimuli get their own cache keys.
    """
    if stimulus_degrees == model_degrees:
        return stimuli
    identifier = f"{stimuli.identifier}--target{model_degrees:g}--source{stimulus_degrees:g}"
    folder = cache_dir("on_screen", content_hash(stimuli.fingerprint(), stimulus_degrees, model_degrees))
    paths = write_images(folder, [
        (f"{i:06d}.png", lambda i=i: on_screen(stimuli.load_image(i), stimulus_degrees, model_degrees))
        for i in range(len(stimuli))
    ])
    return StimulusSet(identifier, stimuli.stimulus_ids, paths=paths, metadata=stimuli.metadata.copy())


def screen_view(image: Image.Image, stimulus_degrees: float, image_size: int,
                model_degrees: float = BRAIN_SCORE_MODEL_DEGREES) -> Image.Image:
    """What a model of ``image_size`` pixels sees under Brain-Score's protocol: ``image`` placed at
    ``stimulus_degrees`` in a ``model_degrees`` field (gray padding), then resized to ``image_size`` squared.

    >>> view = screen_view(Image.new("RGB", (112, 112), "white"), stimulus_degrees=4, image_size=224)
    >>> view.size, view.getpixel((112, 112)), view.getpixel((10, 10))
    ((224, 224), (255, 255, 255), (128, 128, 128))
    """
    if image_size < 1:
        raise InvalidInputError(f"image_size must be a positive number of pixels; got {image_size}")
    placed = on_screen(image.convert("RGB"), stimulus_degrees, model_degrees)
    return placed.resize((image_size, image_size), Image.Resampling.BILINEAR)


def uncropped(preprocessing: ImagePreprocessing) -> ImagePreprocessing:
    """``preprocessing`` that resizes square stimuli to the input size instead of cropping their centre
    (the 0.875 resize-then-crop convention shows a 224-pixel model only the central 98 of 112 pixels).

    >>> uncropped(ImagePreprocessing(image_size=224, resize_size=256)).resize_size
    224
    """
    return dataclasses.replace(preprocessing, resize_size=preprocessing.image_size)


def present(model: LoadedModel, stimuli: StimulusSet, stimulus_degrees: float,
            model_degrees: float = BRAIN_SCORE_MODEL_DEGREES) -> tuple[LoadedModel, StimulusSet]:
    """Brain-Score's presentation: ``stimuli`` placed at ``stimulus_degrees`` in the model's ``model_degrees``
    field (:func:`place_on_screen`) and a copy of ``model`` whose image preprocessing (its own, or the
    `ImagePreprocessing` a user model's preprocessing wraps) resizes them to the input size without a centre crop
    (:func:`uncropped`); any other preprocessing is kept. Both change the feature cache key (stimulus
    fingerprint, preprocessing), so presented and plain features never mix.

    >>> from brainalign.models.loading import load_model
    >>> model = load_model(lambda batch: np.zeros((len(batch), 1)), identifier="zeros")
    >>> model = dataclasses.replace(model, preprocessing=ImagePreprocessing(image_size=224, resize_size=256))
    >>> present(model, StimulusSet("none", []), 8)[0].preprocessing.resize_size
    224
    """
    preprocessing = model.preprocessing
    if isinstance(preprocessing, ImagePreprocessing):
        preprocessing = uncropped(preprocessing)
    elif isinstance(getattr(preprocessing, "function", None), ImagePreprocessing):
        preprocessing = dataclasses.replace(preprocessing, function=uncropped(preprocessing.function))
    return (dataclasses.replace(model, preprocessing=preprocessing),
            place_on_screen(stimuli, stimulus_degrees, model_degrees))
