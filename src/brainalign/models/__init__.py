"""Model catalog, weight sources, feature extraction and the feature cache."""
