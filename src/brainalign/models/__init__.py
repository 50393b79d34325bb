"""Model catalog, weight sources, feature extraction and the feature cache.

Dependencies point one way: ``card`` / ``catalog`` / ``compat`` ← ``sources`` ← ``loading`` ← ``extractor``.

- ``card``: `ModelCard`, one catalog entry (taxonomy, weights source, default layers, preprocessing).
- ``catalog``: ``get_card``, ``list_models``, ``search_models`` over ``catalog.toml``.
- ``sources``: one loader per ``card.source`` in the ``MODEL_SOURCES`` registry (torchvision / timm image and video
  networks, text, ONNX, user models), `LoadedModel` / `SourceModel`, weights, content identities of user models.
- ``loading``: ``load_model(model) -> LoadedModel`` for a catalog id, a registered user model, a torch module, a
  callable or a spec (``file.py:factory``, ``x.onnx``, TorchScript ``x.pt``); ``list_layers`` for the same.
- ``extractor``: `Extractor` (forward hooks, batched, early stop, streamed to the cache, resumable,
  optional on-the-fly projection) -> `Features` per layer, or `FeatureStore` handles (``extract_stores``).
- ``feature_store``: `FeatureStore` (chunked HDF5, lazy reads), `StoreWriter` (resumable, atomic finish),
  ``concatenate_stores``.
- ``feature_cache``: `FeatureCache` (one store per content key) and ``feature_key``.
- ``projection``: `Projection` (a reducer fitted on a chosen stimulus set, applied batch by batch).
- ``screen``: ``place_on_screen`` / ``on_screen`` (stimuli at the model's visual angle: gray padding or centre crop).
- ``compat``: ``import_torchvision`` / ``import_timm`` that work with the CPU build of torch.
"""
