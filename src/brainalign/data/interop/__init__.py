"""Readers and converters for other toolboxes: Net2Brain, Brain-Score, rsatoolbox, thingsvision, NIfTI betas."""
