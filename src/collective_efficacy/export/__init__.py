"""Export: reports, maps, codebooks."""

from . import geojson
from .geojson import to_geojson

__all__ = ["geojson", "to_geojson"]
