"""Model sources: each turns a `ModelCard` into a loaded model, looked up by ``card.source`` in ``MODEL_SOURCES``.

Dependencies point one way: ``base`` ← ``hooks``, ``weights``, ``identity`` ← the sources ← ``models.loading``
← ``models.extractor``.

- ``registry``: ``MODEL_SOURCES``, a `Registry` (built-ins below, plus the ``brainalign.model_sources`` entry points).
- ``base``: `ImagePreprocessing`, `LoadedModel`, and `SourceModel` (the hook point through which the `Extractor`
  runs models that compute their own batch features).
- ``hooks``: ``read_layers`` — forward hooks on named submodules with a per-layer readout (pooling); ``main_tensor``.
- ``weights``: offline / fetched / local weight files and state dicts, and their checksums.
- ``identity``: content identities of user modules and callables (state dict, code, captured values).
- ``vision``: torchvision / timm image networks (and their video cards, through ``video``).
- ``text``: transformers / sentence-transformers; token → word → sentence pooling.
- ``video``: frame sampling (PyAV), clip networks and frame-wise image networks, temporal pooling.
- ``onnx``: onnxruntime graphs with intermediate node outputs exposed as layers.
- ``user``: ``register_user_model`` — any torch module, callable, TorchScript or ONNX file, registered at run time.
"""
