"""Model catalog, weight sources, feature extraction and the feature cache.

- ``card``: `ModelCard`, one catalog entry (taxonomy, weights source, default layers, preprocessing).
- ``catalog``: ``get_card``, ``list_models``, ``search_models`` over ``catalog.toml``.
- ``loading``: ``load_model(identifier) -> LoadedModel`` (module in eval mode, `ImagePreprocessing`, weights checksum).
- ``extractor``: ``list_layers``, `Extractor` (forward hooks, batched, early stop, cached) -> `Features` per layer.
- ``feature_cache``: `FeatureCache` (HDF5, atomic) and ``feature_key``.
- ``compat``: ``import_torchvision`` / ``import_timm`` that work with the CPU build of torch.
"""
