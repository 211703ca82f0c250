"""item_statistics and omega from summaries (``summarise(detail=True)``) and from any engine.

Reference: the row path on a pandas DataFrame, itself validated against psych::alpha
(``$item.stats``, ``$alpha.drop``), psych::omega and lavaan in the reliability reference tests.
Tolerances: item statistics relative 1e-10 (absolute 1e-12 near 0), as every summary path; the
correlation matrix that omega factors equals pandas' pairwise ``corr`` to 1e-12; omega's
loadings come from an iterative fit (minres / ML) that stops at its own tolerance, so inputs
equal to 1e-14 give results equal to about 1e-10: compared at relative and absolute 1e-8.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from test_summaries import DATA, ENGINE_DATA, ENGINES, ITEMS, KEYS, assert_same

OMEGA_TOL = 1e-8
pytestmark = pytest.mark.filterwarnings("ignore::collective_efficacy.errors.ReliabilityWarning")


def _items(d: Any) -> pd.DataFrame:
    return ce.item_statistics(d, items=ITEMS, keys=KEYS, scale_range=(1, 5))


def _summary(df: pd.DataFrame, **kw: Any) -> ce.CommunitySummary:
    return ce.summarise(df, items=ITEMS, keys=KEYS, scale_range=(1, 5), community="buurt",
                        min_n=None, **kw)  # fmt: skip


def _same_omega(a: Any, b: Any) -> None:
    assert (a.n, a.n_items, a.method, a.nan_policy) == (b.n, b.n_items, b.method, b.nan_policy)
    for name in ("omega", "omega_total", "omega_observed", "omega_model"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=OMEGA_TOL)
    for x, y in zip(a.loadings, b.loadings):
        assert (x.item, x.reversed) == (y.item, y.reversed)
        np.testing.assert_allclose([y.loading, y.uniqueness], [x.loading, x.uniqueness],
                                   rtol=OMEGA_TOL, atol=OMEGA_TOL)  # fmt: skip


@pytest.mark.parametrize("dataset", sorted(DATA))
def test_item_statistics_from_a_summary_equal_the_rows(dataset: str) -> None:
    df = DATA[dataset]
    assert_same(_items(df), _items(_summary(df, detail=True)))


@pytest.mark.parametrize("engine,dataset", ENGINE_DATA)  # Dask on one survey (see there)
def test_item_statistics_of_every_engine(engine: str, dataset: str) -> None:
    df = DATA[dataset]
    assert_same(_pandas_items(dataset), _items(ENGINES[engine](df)))


@functools.cache
def _pandas_items(dataset: str) -> Any:
    """The pandas table, once for the five engines compared with it (they only read it)."""
    return _items(DATA[dataset])


@pytest.mark.parametrize("dataset", sorted(DATA))
def test_pairwise_correlations_from_sums_equal_pandas(dataset: str) -> None:
    from collective_efficacy.scoring import reverse_items
    from collective_efficacy.summaries._cells import grouped
    from collective_efficacy.summaries._routes_items import pairwise_cor

    df = DATA[dataset]
    keyed = df[ITEMS].astype(float).copy()
    for c in ("SC3", "SC4"):
        keyed[c] = reverse_items(keyed[c].to_numpy(), scale_range=(1, 5))
    want = keyed.corr(min_periods=2).to_numpy()
    got = pairwise_cor(grouped(_summary(df, detail=True), []))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dataset", sorted(DATA))
@pytest.mark.parametrize("source", ["summary", "duckdb", "polars_lazy"])
def test_omega_minres_from_sums(dataset: str, source: str) -> None:
    df = DATA[dataset]
    data = _summary(df, detail=True) if source == "summary" else ENGINES[source](df)
    _same_omega(ce.omega(df, items=ITEMS, keys=KEYS), ce.omega(data, items=ITEMS, keys=KEYS))


def test_omega_ml_from_a_summary_of_complete_rows() -> None:
    df = DATA["generated"].dropna(subset=ITEMS)
    want = ce.omega(df, items=ITEMS, keys=KEYS, method="ml")
    _same_omega(want, ce.omega(_summary(df, detail=True), items=ITEMS, keys=KEYS, method="ml"))


def test_what_the_summary_cannot_give_says_so() -> None:
    df = DATA["generated"]
    with pytest.raises(DataError, match=r"detail=True"):
        _items(_summary(df))
    with pytest.raises(DataError, match="needs the respondent rows"):
        ce.omega(_summary(df, detail=True), items=ITEMS, keys=KEYS, method="ml")
    with pytest.raises(DataError, match="needs the respondent rows"):
        ce.item_statistics(_summary(df, detail=True), items=ITEMS, keys=KEYS,
                           scale_range=(1, 5), nan_policy="listwise")  # fmt: skip


def test_detail_sums_merge_save_and_drop_when_a_part_lacks_them(tmp_path: Any) -> None:
    df = DATA["example"]
    half = len(df) // 2
    parts = [_summary(df.iloc[:half], detail=True), _summary(df.iloc[half:], detail=True)]
    merged = ce.merge_summaries(parts)
    assert merged.detail
    assert_same(_items(df), _items(merged))
    back = ce.CommunitySummary.from_json(merged.to_json())
    assert back.detail
    assert_same(_items(df), _items(back))
    pytest.importorskip("pyarrow")
    merged.to_parquet(tmp_path / "s.parquet")
    assert ce.CommunitySummary.read_parquet(tmp_path / "s.parquet").detail
    mixed = ce.merge_summaries([parts[0], _summary(df.iloc[half:])])
    assert not mixed.detail  # sums that only some parts hold would be partial
    assert_same(ce.cronbach_alpha(df, items=ITEMS, keys=KEYS, scale_range=(1, 5)),
                ce.cronbach_alpha(mixed))  # fmt: skip


# ------------------------------------------------------------------ rwg, rwg(j) (agreement)
# Reference: the row path (tested against multilevel::rwg / rwg.j / rwg.j.lindell in the
# agreement reference tests); per-community item variances from sums: relative 1e-10.
@pytest.mark.parametrize("dataset", sorted(DATA))
@pytest.mark.parametrize("lindell", [False, True])
def test_rwg_j_pairwise_from_a_summary_equals_the_rows(dataset: str, lindell: bool) -> None:
    df = DATA[dataset]
    kw = {"items": ITEMS, "community": "buurt", "options": 5, "nan_policy": "pairwise"}
    assert_same(ce.rwg_j(df, lindell=lindell, **kw), ce.rwg_j(_summary(df), lindell=lindell, **kw))


def test_rwg_j_listwise_and_rwg_from_a_summary_of_complete_rows() -> None:
    df = DATA["generated"].dropna(subset=ITEMS)
    kw = {"items": ITEMS, "community": "buurt", "options": 5}
    assert_same(ce.rwg_j(df, **kw), ce.rwg_j(_summary(df), **kw))
    for item in ("SC1", "SC3"):  # SC3 is reverse-keyed in the summary: rwg on the answers
        want = ce.rwg(DATA["generated"], item=item, community="buurt", options=5)
        assert_same(want, ce.rwg(_summary(DATA["generated"]), item=item, community="buurt",
                                 options=5))  # fmt: skip


def test_rwg_j_listwise_with_missing_answers_needs_the_rows() -> None:
    with pytest.raises(DataError, match="needs the respondent rows"):
        ce.rwg_j(_summary(DATA["generated"]), items=ITEMS, community="buurt", options=5)
