"""Every public function that takes a table gives the pandas numbers on any engine (issue 21).

``test_summaries.py`` (cronbach_alpha, icc, group_reliability, random_intercept, aggregate,
compare_waves), ``test_summaries_items.py`` (item_statistics) and ``test_summaries_ecometric.py``
(ecometric) cover their functions; this module covers every other public function with a FRAME
parameter, on polars (eager and lazy), pyarrow, DuckDB and Dask input. Reference: the same call
on the pandas DataFrame. Numbers: relative 1e-10 (absolute 1e-12 near 0); counts, labels and
notes exactly. A guard test fails when a new FRAME-taking function is covered by none of these.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

import collective_efficacy as ce
from collective_efficacy import disclosure, export
from collective_efficacy._params import _Frame
from test_api_contract import FUNCTIONS
from test_summaries import DATA, ENGINES, ITEMS, KEYS, WAVES

RTOL, ATOL = 1e-10, 1e-12

#: covered in the other engine test modules (name -> module)
COVERED_ELSEWHERE = {
    "cronbach_alpha": "test_summaries",
    "icc": "test_summaries",
    "group_reliability": "test_summaries",
    "random_intercept": "test_summaries",
    "aggregate": "test_summaries",
    "compare_waves": "test_summaries",
    "item_statistics": "test_summaries_items",
    "ecometric": "test_summaries_ecometric",
}

#: not covered, and why
EXCLUDED = {
    # returns a matplotlib Figure (nothing to compare to 1e-10); its levels table goes through
    # the same join as export.to_geojson, which is covered here with an in-memory map
    "plot.impact_map": "draws a figure; its levels join is export.to_geojson's (covered)",
}

#: the example, smaller: ten communities, both waves (keeps the slow engines quick)
_full = DATA["example"]
SMALL = _full[_full["buurt"].isin(sorted(_full["buurt"].unique())[:10])].reset_index(drop=True)
_BEFORE, _AFTER = (SMALL[SMALL["meting"] == w].reset_index(drop=True) for w in WAVES.values())

#: community scores of the ten communities, the smallest suppressed (a realistic table)
_AGG = ce.aggregate(SMALL, community="buurt", wave="meting", columns=["sc"], min_n=25)
_ROWS = SMALL.groupby(["buurt", "meting"]).size().rename("rows").reset_index()
_LEVELS = {
    w: ce.impact_levels(
        _AGG[_AGG["meting"] == w].drop(columns="meting").reset_index(drop=True),
        community="buurt",
        score="mean",
        ci_low="ci_low",
        ci_high="ci_high",
    )
    for w in WAVES.values()
}
#: an in-memory map of the ten communities (unit squares) for export.to_geojson
_MAP = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"buurt": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[i, 0], [i + 1, 0], [i + 1, 1], [i, 1], [i, 0]]],
            },
        }
        for i, name in enumerate(sorted(SMALL["buurt"].unique()))
    ],
}
_MARGINS = pd.DataFrame(
    {"variable": "meting", "level": list(WAVES.values()), "count": [1000.0, 1500.0]}
)


def _validate(d: Any) -> Any:
    return ce.validate(d, "sampson1997", community="buurt", wave="meting",
                       respondent="respondent_id")  # fmt: skip


#: name -> (function name, the call given one converter applied to every table argument)
CALLS: dict[str, tuple[str, Callable[[Callable[[pd.DataFrame], Any]], Any]]] = {
    "score": ("score", lambda e: ce.score(
        e(SMALL), keys={"sc": ["SC1", "SC2", "-SC3", "-SC4", "SC5"]}, scale_range=(1, 5))),
    "score_instrument": ("score", lambda e: ce.score(e(SMALL), "sampson1997")),
    "validate": ("validate", lambda e: _validate(e(SMALL))),
    "summarise": ("summarise", lambda e: ce.summarise(
        e(SMALL), items=ITEMS, keys=KEYS, scale_range=(1, 5), community="buurt",
        wave="meting", min_n=None).to_frame()),
    "ad_index": ("ad_index", lambda e: ce.ad_index(
        e(SMALL), items=ITEMS, community="buurt", options=5)),
    "omega": ("omega", lambda e: ce.omega(e(SMALL), items=ITEMS, keys=KEYS)),
    "rwg": ("rwg", lambda e: ce.rwg(e(SMALL), item="SC1", community="buurt", options=5)),
    "rwg_j": ("rwg_j", lambda e: ce.rwg_j(
        e(SMALL), items=ITEMS, community="buurt", options=5, nan_policy="pairwise")),
    "compare_waves_eb": ("compare_waves_eb", lambda e: ce.compare_waves_eb(
        e(SMALL), dv="sc", wave="meting", community="buurt", **WAVES)),
    "bootstrap_change": ("bootstrap_change", lambda e: ce.bootstrap_change(
        e(SMALL), dv="sc", wave="meting", community="buurt", n_boot=200, seed=11, **WAVES)),
    "change_model": ("change_model", lambda e: ce.change_model(
        e(SMALL), dv="sc", community="buurt", wave="meting", **WAVES)),
    "calibrate": ("calibrate", lambda e: ce.calibrate(e(SMALL), margins=e(_MARGINS))),
    "impact_levels": ("impact_levels", lambda e: ce.impact_levels(
        e(_AGG), community="buurt", wave="meting", score="mean")),
    "impact_change": ("impact_change", lambda e: ce.impact_change(
        e(_LEVELS["nulmeting"]), e(_LEVELS["eindmeting"]), community="buurt")),
    "to_geojson": ("export.to_geojson", lambda e: export.to_geojson(
        e(_LEVELS["eindmeting"]), _MAP, community="buurt", geometry_key="buurt")),
    "evaluate": ("evaluate", lambda e: ce.evaluate(
        e(_BEFORE), e(_AFTER), community="buurt", respondent="respondent_id", wave="meting",
        before="nulmeting", after="eindmeting", skip_map=True).to_json()),
    "publishable_table": ("disclosure.publishable_table", lambda e: disclosure.publishable_table(
        e(_AGG), community="buurt", wave="meting")),
    "secondary_suppression": ("disclosure.secondary_suppression",
                              lambda e: disclosure.secondary_suppression(
                                  e(_AGG), community="buurt", wave="meting")),
    "one_pattern": ("disclosure.one_pattern", lambda e: disclosure.one_pattern(
        e(_AGG), community="buurt", wave="meting")),
    "counts_publishable": ("disclosure.counts_publishable",
                           lambda e: disclosure.counts_publishable(
                               e(_AGG), e(_ROWS), community="buurt", wave="meting", min_n=25)),
    "shown_respondents": ("disclosure.shown_respondents", lambda e: disclosure.shown_respondents(
        e(SMALL), e(_AGG), community="buurt", wave="meting", table_wave="meting")),
}  # fmt: skip

#: volatile fields of a result (when it was made, how long it took)
VOLATILE = {"created", "created_at", "generated_at", "timestamp", "elapsed", "runtime_s"}


def _same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame), where
        pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=RTOL, atol=ATOL, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(b, a, check_exact=False, rtol=RTOL, atol=ATOL, obj=where)
    elif isinstance(a, BaseModel):
        assert type(a) is type(b), where
        _same(a.model_dump(), b.model_dump(), where)
    elif isinstance(a, np.ndarray):
        _same(a.tolist(), np.asarray(b).tolist(), where)
    elif isinstance(a, dict):
        assert isinstance(b, dict), where
        keys = set(a) - VOLATILE
        assert keys == set(b) - VOLATILE, (where, sorted(map(str, keys ^ (set(b) - VOLATILE))))
        for k in keys:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float | np.floating) and not isinstance(a, bool):
        assert isinstance(b, float | int | np.number), (where, a, b)
        if math.isnan(a):
            assert math.isnan(b), (where, a, b)
        else:
            assert math.isclose(b, a, rel_tol=RTOL, abs_tol=ATOL), (where, a, b)
    elif hasattr(a, "__dict__") and not isinstance(a, str | Path):
        assert type(a) is type(b), where
        _same(vars(a), vars(b), where)
    else:
        assert a == b, (where, a, b)


_EXPECTED: dict[str, Any] = {}


def _expected(call: str) -> Any:
    if call not in _EXPECTED:
        _EXPECTED[call] = CALLS[call][1](lambda df: df.copy())
    return _EXPECTED[call]


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_engine_gives_the_pandas_result(call: str, engine: str) -> None:
    got = CALLS[call][1](ENGINES[engine])
    _same(_expected(call), got, call)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_write_csv_writes_the_same_file(engine: str, tmp_path: Path) -> None:
    want = export.write_csv(_AGG, tmp_path / "pandas.csv").read_bytes()
    assert export.write_csv(ENGINES[engine](_AGG), tmp_path / "e.csv").read_bytes() == want


def test_every_frame_function_is_covered_on_every_engine() -> None:
    takes_frame = {
        name
        for name, func in FUNCTIONS.items()
        if any(
            isinstance(c, _Frame)
            for accepted in getattr(func, "__ce_constraints__", {}).values()
            for c in accepted
        )
    }
    here = {fn for fn, _ in CALLS.values()} | {"export.write_csv"}
    covered = here | set(COVERED_ELSEWHERE) | set(EXCLUDED)
    assert takes_frame - covered == set(), "no engine test for these"
    assert covered - takes_frame == set(), "listed but takes no FRAME (renamed?)"
    assert not here & set(COVERED_ELSEWHERE) and not here & set(EXCLUDED)
