"""Model catalog, weight sources, feature extraction and the feature cache.

- ``card``: `ModelCard`, one catalog entry (taxonomy, weights source, default layers, preprocessing).
- ``catalog``: ``get_card``, ``list_models``, ``search_models`` over ``catalog.toml``.
- ``loading``: ``load_model(identifier) -> LoadedModel`` (module in eval mode, `ImagePreprocessing`, weights checksum).
- ``extractor``: ``list_layers``, `Extractor` (forward hooks, batched, early stop, streamed to the cache, resumable,
  optional on-the-fly projection) -> `Features` per layer, or `FeatureStore` handles (``extract_stores``).
- ``feature_store``: `FeatureStore` (chunked HDF5, lazy reads), `StoreWriter` (resumable, atomic finish),
  ``concatenate_stores``.
- ``feature_cache``: `FeatureCache` (one store per content key) and ``feature_key``.
- ``projection``: `Projection` (a reducer fitted on a chosen stimulus set, applied batch by batch).
- ``screen``: ``place_on_screen`` / ``on_screen`` (stimuli at the model's visual angle: gray padding or centre crop).
- ``sources``: text (transformers, sentence-transformers), video, ONNX and user models (``register_user_model``),
  loaded by ``load_model`` as a ``SourceModel`` that computes its own batch features for the `Extractor`.
- ``compat``: ``import_torchvision`` / ``import_timm`` that work with the CPU build of torch.
"""
