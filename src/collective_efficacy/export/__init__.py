"""Export: reports, maps, codebooks and tables for spreadsheets."""

from . import codebook, geojson, tables, xlsform
from .codebook import to_codebook
from .geojson import to_geojson
from .tables import write_csv, write_xlsx
from .xlsform import to_xlsform

__all__ = ["geojson", "tables", "to_geojson", "write_csv", "write_xlsx"]
__all__ += ["codebook", "to_codebook", "to_xlsform", "xlsform"]
