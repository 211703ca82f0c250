"""Export: reports, maps, codebooks and tables for spreadsheets."""

from . import geojson, tables
from .geojson import to_geojson
from .tables import write_csv, write_xlsx

__all__ = ["geojson", "tables", "to_geojson", "write_csv", "write_xlsx"]
