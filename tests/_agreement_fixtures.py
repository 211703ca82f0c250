"""Loaders for the R reference fixtures of the agreement tests (tests/fixtures/agreement/).

The fixtures are written by tests/fixtures/r/agreement.R (R multilevel 2.7, nlme 3.1); see
versions.json in the same folder.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FIX = Path(__file__).parent / "fixtures" / "agreement"


def load_json(name: str) -> Any:
    return json.loads((FIX / name).read_text())


@cache
def _dataset(name: str) -> pd.DataFrame:
    if name == "bh1996_unbal":
        # same rule as make_unbal() in agreement.R: every 37th row (1-based) WBEING missing,
        # group 1 reduced to its first respondent
        d = _dataset("bh1996").copy()
        d.loc[np.arange(36, len(d), 37), "WBEING"] = np.nan
        keep = ~((d["GRP"] == 1) & d["GRP"].duplicated())
        return d.loc[keep].reset_index(drop=True)
    return pd.read_csv(FIX / f"{name}.csv")


def dataset(name: str) -> pd.DataFrame:
    """A fresh copy of a fixture data set."""
    return _dataset(name).copy()


def group_arg(group: str) -> str | list[str]:
    """R's paste(UNIT, PLATOON) grouping is a two-column grouping here."""
    return ["UNIT", "PLATOON"] if group == "UP" else group


def r_label(res: pd.DataFrame, group: str) -> pd.Series:
    """Group labels of a result as R prints them (grpid)."""
    if group == "UP":
        return res["UNIT"].astype(str) + " " + res["PLATOON"].astype(str)
    return res[group].astype(str)


def r_groups() -> pd.DataFrame:
    g = pd.read_csv(FIX / "groups.csv", dtype={"grpid": str})
    parts = g["case"].str.split("|", expand=True)
    g["fn"] = parts[0]
    spec = parts[1].str.split(":", expand=True)
    g["dataset"], g["group"], g["items"] = spec[0], spec[1], spec[2]
    g["ranvar"] = spec[3].fillna("")  # ad.m cases have no ranvar
    return g


def items_of(df: pd.DataFrame, prefix: str) -> list[str]:
    """Item columns as R's grep('^PREFIX[0-9]') or a single named item."""
    cols = [c for c in df.columns if c.startswith(prefix) and c[len(prefix) :][:1].isdigit()]
    return cols or [prefix]
