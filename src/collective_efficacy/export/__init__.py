"""Export: reports, maps, codebooks and tables for spreadsheets."""

from collective_efficacy.export import codebook, geojson, tables, xlsform
from collective_efficacy.export.codebook import to_codebook
from collective_efficacy.export.geojson import to_geojson
from collective_efficacy.export.tables import write_csv, write_xlsx
from collective_efficacy.export.xlsform import to_xlsform

__all__ = ["geojson", "tables", "to_geojson", "write_csv", "write_xlsx"]
__all__ += ["codebook", "to_codebook", "to_xlsform", "xlsform"]
