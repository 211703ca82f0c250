"""Per-community summaries that merge (see :mod:`.summary`)."""
