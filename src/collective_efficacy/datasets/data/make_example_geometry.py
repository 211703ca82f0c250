"""Generate the bundled fictional impact example: community geometry and programme assessments.

Writes, next to this file:

* ``example_buurten.geojson``: one polygon per example community (the 40 communities of
  :func:`collective_efficacy.datasets.load_example`, ``"Buurt A1"`` .. ``"Buurt N2"``), laid out as
  an 8 x 5 grid of quadrilaterals whose shared corners are jittered, so the map looks like a
  neighbourhood map but is a gap-free tiling. The coordinates are FICTIONAL: WGS84 longitude and
  latitude just north-east of (0, 0) in the Gulf of Guinea, where no neighbourhood exists.
  Property ``buurt`` holds the community name (the key of the example survey) and ``code`` a
  fictional code ``EX001`` .. ``EX040``.
* ``example_assessments.csv``: the programme lead's ratings (instrument
  ``strongpact_assessment``) per community and wave (``nulmeting`` / ``eindmeting``):
  ``partner_cooperation`` and ``group_development`` (0-5) and the optional evidence counts
  ``meetings_held``, ``self_organised_activities``, ``active_members``, ``leaders``. Fictional,
  drawn from the example simulator's true community effects (so ratings and survey cohesion are
  loosely related). Four communities have no assessment at all and one (``Buurt N2``) is only
  assessed at the end of the cycle (a group that formed during the cycle).

Everything is deterministic (fixed seed): ``python -m collective_efficacy.datasets.data.make_example_geometry``
rewrites both files byte for byte, and the tests regenerate them and compare.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["make_assessments", "make_geometry", "write_all"]

N_COLS, N_ROWS = 8, 5
CELL = 0.01  # degrees (about 1.1 km): fictional
ORIGIN = (0.02, 0.02)  # lon, lat of the south-west corner: fictional (open sea near 0, 0)
SEED = 20260
NOT_ASSESSED = ("Buurt C2", "Buurt M2", "Buurt Q1", "Buurt W1")
ONLY_AT_END = ("Buurt N2",)
WAVES = ("nulmeting", "eindmeting")


def community_names(n: int = N_COLS * N_ROWS) -> list[str]:
    """The example community names in simulator order (as in ``datasets.simulate``)."""
    return [f"Buurt {chr(65 + k % 26)}{k // 26 + 1}" for k in range(n)]


def make_geometry() -> dict[str, Any]:
    """The fictional FeatureCollection (one Polygon per example community)."""
    rng = np.random.default_rng(SEED)
    # shared grid corners, interior ones jittered by up to 30 % of a cell
    xs = ORIGIN[0] + CELL * np.arange(N_COLS + 1)
    ys = ORIGIN[1] + CELL * np.arange(N_ROWS + 1)
    gx, gy = np.meshgrid(xs, ys)  # shape (rows+1, cols+1)
    jx = rng.uniform(-0.3, 0.3, gx.shape) * CELL
    jy = rng.uniform(-0.3, 0.3, gy.shape) * CELL
    jx[:, [0, -1]] = 0.0
    jy[[0, -1], :] = 0.0
    gx, gy = gx + jx, gy + jy
    features = []
    for k, name in enumerate(community_names()):
        row, col = divmod(k, N_COLS)
        r = N_ROWS - 1 - row  # first communities in the top row
        corners = [(r, col), (r, col + 1), (r + 1, col + 1), (r + 1, col), (r, col)]
        ring = [[round(float(gx[a, b]), 6), round(float(gy[a, b]), 6)] for a, b in corners]
        features.append(
            {
                "type": "Feature",
                "id": f"EX{k + 1:03d}",
                "properties": {"buurt": name, "code": f"EX{k + 1:03d}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {
        "type": "FeatureCollection",
        "name": "example_buurten (fictional)",
        "features": features,
    }


def make_assessments() -> pd.DataFrame:
    """The fictional programme assessments (long: one row per assessed community and wave)."""
    from collective_efficacy.datasets import simulate

    truth = simulate(N_COLS * N_ROWS, dirty=False).communities
    rng = np.random.default_rng(SEED + 1)
    z = truth["effect"].to_numpy() / 0.35
    change = truth["change"].to_numpy()
    n = len(truth)
    g0 = np.clip(np.rint(1.0 + 0.6 * z + rng.normal(0, 0.6, n)), 0, 3)
    p0 = np.clip(np.rint(1.0 + 0.4 * z + rng.normal(0, 0.7, n)), 0, 3)
    g1 = np.clip(g0 + np.maximum(np.rint(0.7 + 5 * change + rng.normal(0, 0.6, n)), -1), 0, 5)
    p1 = np.clip(p0 + np.maximum(np.rint(0.7 + 4 * change + rng.normal(0, 0.6, n)), -1), 0, 5)
    frames = []
    for wave, g, p in (("nulmeting", g0, p0), ("eindmeting", g1, p1)):
        meetings = rng.poisson(1 + 2 * g)
        self_org = rng.poisson(np.maximum(g - 2, 0) * 2)
        members = 2 + 4 * g.astype(int) + rng.poisson(3, n)
        leaders = np.where(g <= 1, 0, 1 + (g >= 4) + (g >= 5)).astype(int)
        frames.append(
            pd.DataFrame(
                {
                    "buurt": truth["buurt"].to_numpy(),
                    "meting": wave,
                    "partner_cooperation": p.astype(int),
                    "group_development": g.astype(int),
                    "meetings_held": meetings.astype(int),
                    "self_organised_activities": self_org.astype(int),
                    "active_members": members.astype(int),
                    "leaders": leaders,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    drop = out["buurt"].isin(NOT_ASSESSED) | (
        out["buurt"].isin(ONLY_AT_END) & (out["meting"] == "nulmeting")
    )
    return out.loc[~drop].reset_index(drop=True)


def geometry_text() -> str:
    """The GeoJSON file content (deterministic)."""
    return json.dumps(make_geometry(), indent=1, ensure_ascii=False) + "\n"


def assessments_text() -> str:
    """The CSV file content (deterministic)."""
    buf = io.StringIO()
    make_assessments().to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def write_all(folder: Path | None = None) -> list[Path]:
    """Write both files into ``folder`` (default: this package folder); returns the paths."""
    folder = Path(__file__).parent if folder is None else Path(folder)
    geo = folder / "example_buurten.geojson"
    csv = folder / "example_assessments.csv"
    geo.write_text(geometry_text(), encoding="utf-8")
    csv.write_text(assessments_text(), encoding="utf-8")
    return [geo, csv]


if __name__ == "__main__":  # pragma: no cover
    for p in write_all():
        print(f"wrote {p}")
