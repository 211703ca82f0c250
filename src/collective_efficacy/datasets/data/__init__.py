"""Bundled example data files."""
