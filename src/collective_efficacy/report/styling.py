"""Colours of the report, the maps and the GeoJSON export."""

from __future__ import annotations

__all__ = ["IMPACT_PALETTE", "NO_LEVEL_COLOUR"]

#: Fixed colour per level: blues below the release threshold (0-2), oranges from it (3-5), with
#: lightness rising strictly with the level (CIE L* 16, 33, 49 | 66, 80, 94) so that the order
#: survives greyscale printing and the simulated protan, deutan and tritan deficiencies (Machado
#: et al. 2009), and the blue-to-orange step marks level 3 in all of them.
IMPACT_PALETTE: dict[int, str] = {
    0: "#152450",
    1: "#2A4C8C",
    2: "#4377BA",
    3: "#E68A35",
    4: "#F5BC68",
    5: "#FEEEB8",
}
#: Colour of a community without a level (suppressed, no score, or no data).
NO_LEVEL_COLOUR = "#BDBDBD"
