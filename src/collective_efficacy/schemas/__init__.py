"""JSON Schemas of the results that leave the library (generated; see ``_schemas``)."""
