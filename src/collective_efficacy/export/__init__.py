"""Export: reports, maps, codebooks."""
