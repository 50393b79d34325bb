"""Readers for other toolboxes' files (Net2Brain's RDM and feature folders)."""
