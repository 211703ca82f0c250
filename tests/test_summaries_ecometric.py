"""ecometric from summaries (``summarise(ecometric=True)``) and from any engine (issue 21).

References: the row path on a pandas DataFrame (itself validated against lme4 in
test_mixed.py), and lme4 directly: ``lmer(y ~ 0 + item + (1 | community/respondent))`` on
tests/fixtures/mixed/survey.csv (script tests/fixtures/r/mixed.R, fixture three_level.json).

Tolerances: the summary path builds the engine's cells from the summary's unshifted sums (the
cells agree with the row path's to ~1e-13 relative) and then runs the *same* optimiser (BFGS in
a box, Newton polish) on them, so every number agrees with the row path to relative 1e-10
(absolute 1e-12 near 0); measured ~1e-13. Against lme4: rtol 1e-5, as test_mixed.py.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from test_summaries import (
    DATA,
    ENGINE_DATA,
    ENGINES,
    ITEMS,
    KEYS,
    _assert_same_summary,
    _partitioned,
)

RTOL, ATOL = 1e-10, 1e-12


def _summary(df: pd.DataFrame, **kw: Any) -> ce.CommunitySummary:
    opts = {"items": ITEMS, "keys": KEYS, "scale_range": (1, 5), "community": "buurt",
            "min_n": None, "ecometric": True, **kw}  # fmt: skip
    return ce.summarise(df, **opts)


def _eco(d: Any, **kw: Any) -> Any:
    opts = {"items": ITEMS, "keys": KEYS, "scale_range": (1, 5), "community": "buurt", **kw}
    return ce.ecometric(d, **opts)


def _numbers(res: Any) -> dict[str, Any]:
    doc = res.model_dump()
    out = {k: v for k, v in doc.items() if isinstance(v, (int, float)) and v is not None}
    out.update({f"vc_{k}": v for k, v in doc["variance_components"].items()})
    for kind in ("item_effects", "covariate_effects"):
        for e in doc[kind]:
            out[f"{e['term']}_est"], out[f"{e['term']}_se"] = e["estimate"], e["se"]
    return out


def assert_same_eco(a: Any, b: Any) -> None:
    """Every number to RTOL/ATOL, every label and flag exactly, the community table too."""
    assert (a.items, a.reversed_items, a.community, a.method, a.reliability_method) == (
        b.items, b.reversed_items, b.community, b.method, b.reliability_method,
    )  # fmt: skip
    assert (a.converged, a.diagnostics.boundary_components) == (
        b.converged, b.diagnostics.boundary_components,
    )  # fmt: skip
    na, nb = _numbers(a), _numbers(b)
    assert sorted(na) == sorted(nb)
    for key, value in na.items():
        if key in ("n_iter",):
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            assert value == nb[key], key
        else:
            np.testing.assert_allclose(nb[key], value, rtol=RTOL, atol=ATOL, err_msg=key)
    ga, gb = a.groups, b.groups
    assert list(ga.columns) == list(gb.columns)
    assert ga[a.community].astype(str).tolist() == gb[b.community].astype(str).tolist()
    for c in ga.columns[1:]:
        np.testing.assert_allclose(gb[c].to_numpy(float), ga[c].to_numpy(float), rtol=RTOL,
                                   atol=ATOL, err_msg=c)  # fmt: skip


@pytest.mark.parametrize("dataset", sorted(DATA))
@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("reliability", ["exact", "mean_items"])
def test_ecometric_from_a_summary_equals_the_rows(
    dataset: str, method: str, reliability: str
) -> None:
    df = DATA[dataset]
    want = _eco(df, method=method, reliability=reliability)
    answered = df[ITEMS].notna().sum(axis=1)
    assert ((answered > 0) & (answered < len(ITEMS))).any()  # missing items are exercised
    assert_same_eco(want, _eco(_summary(df), method=method, reliability=reliability))


@pytest.mark.parametrize("keys", [KEYS, None])
def test_default_scale_range_is_the_rows_one(keys: Any) -> None:
    # no scale_range: both key with (and report) the smallest and largest answer over all items
    df = DATA["generated"]
    s = ce.summarise(df, items=ITEMS, keys=keys, community="buurt", min_n=None, ecometric=True)
    want = ce.ecometric(df, items=ITEMS, keys=keys, community="buurt")
    got = ce.ecometric(s, items=ITEMS, keys=keys, community="buurt")
    assert got.scale_range == want.scale_range
    assert type(got).model_validate_json(got.to_json()).scale_range == want.scale_range
    assert_same_eco(want, got)


@pytest.mark.parametrize("case", ["baseline_REML_none", "baseline_ML_none", "end_REML_none"])
def test_ecometric_from_a_summary_matches_lme4(fixtures: Any, case: str) -> None:
    ref = json.loads((fixtures / "mixed" / "three_level.json").read_text())[case]
    survey = pd.read_csv(fixtures / "mixed" / "survey.csv")
    wave = survey[survey["wave"] == ref["wave"]]
    s = ce.summarise(wave, items=ITEMS, keys=["-SC3"], scale_range=(1, 5),
                     community="community", min_n=None, ecometric=True)  # fmt: skip
    res = ce.ecometric(s, items=ITEMS, community="community", method=ref["method"])
    vc = res.variance_components
    np.testing.assert_allclose([vc.tau_beta, vc.tau_pi, vc.sigma2],
                               [ref["tau_beta"], ref["tau_pi"], ref["sigma2"]], rtol=1e-5)  # fmt: skip
    np.testing.assert_allclose([e.estimate for e in res.item_effects], ref["fixef"], rtol=1e-5)
    np.testing.assert_allclose([e.se for e in res.item_effects], ref["fixef_se"], rtol=1e-5)
    np.testing.assert_allclose(res.loglik, ref["loglik"], rtol=1e-9)
    assert (res.n_responses, res.n_respondents) == (ref["n_obs"], ref["n_respondents"])
    assert res.n_excluded_no_items == 2 and res.reversed_items == ["SC3"]


def test_merged_partial_summaries_equal_all_rows(tmp_path: Any) -> None:
    df = DATA["example"]
    rng = np.random.default_rng(11)
    part = rng.random(len(df)) < 0.4  # every community split over both parts
    s1, s2 = _summary(df[part]), _summary(df[~part])
    merged = ce.merge_summaries([s1, s2])
    whole = _summary(df)
    assert merged.ecometric
    a, b = whole.to_frame(), merged.to_frame()
    eco = [c for c in a.columns if c.startswith("eco_")]
    assert len(eco) == len(ITEMS) * (3 + 2 * len(ITEMS) + len(ITEMS) * (len(ITEMS) - 1) // 2)
    np.testing.assert_allclose(b[eco].to_numpy(float), a[eco].to_numpy(float), rtol=1e-13)
    want = _eco(df)
    assert_same_eco(want, _eco(s1 + s2))
    back = ce.CommunitySummary.from_json(merged.to_json())
    assert back.ecometric and json.loads(merged.to_json())["schema_version"] == "1.2"
    assert_same_eco(want, _eco(back))
    pytest.importorskip("pyarrow")
    merged.to_parquet(tmp_path / "s.parquet")
    assert_same_eco(want, _eco(ce.CommunitySummary.read_parquet(tmp_path / "s.parquet")))


# 15 generated partitions: test_merged_partial_summaries_equal_all_rows above is the explicit
# case of communities split over two holders (to 1e-13)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_partitioned())
def test_merging_ecometric_sums_of_any_partition_gives_those_of_all_rows(
    case: tuple[pd.DataFrame, np.ndarray],
) -> None:
    """Rows split at random over up to 4 holders (a community may be split): sums to 1e-12."""
    df, parts = case

    def summ(d: pd.DataFrame) -> ce.CommunitySummary:
        return ce.summarise(d, items=ITEMS[:3], keys=["-SC2"], scale_range=(1, 5),
                            community="buurt", wave="meting", min_n=None, ecometric=True)  # fmt: skip

    whole = summ(df)
    assert whole.ecometric
    _assert_same_summary(
        whole, ce.merge_summaries([summ(df[parts == p]) for p in np.unique(parts)])
    )


def test_ecometric_sums_drop_when_a_part_lacks_them_and_older_files_read() -> None:
    df = DATA["generated"]
    half = len(df) // 2
    mixed = ce.merge_summaries(
        [_summary(df.iloc[:half]), _summary(df.iloc[half:], ecometric=False)]
    )
    assert not mixed.ecometric
    with pytest.raises(DataError, match=r"ecometric=True"):
        _eco(mixed)
    doc = json.loads(_summary(df, ecometric=False).to_json())
    doc["schema_version"] = "1.1"  # a file written before the ecometric sums
    old = ce.CommunitySummary.from_json(json.dumps(doc))
    assert not old.ecometric
    np.testing.assert_allclose(
        ce.cronbach_alpha(old)["alpha"], ce.cronbach_alpha(df, items=ITEMS, keys=KEYS,
                                                           scale_range=(1, 5))["alpha"],
        rtol=RTOL,
    )  # fmt: skip


def test_what_the_summary_cannot_give_says_so() -> None:
    s = _summary(DATA["generated"])
    df = DATA["generated"].assign(age=np.arange(len(DATA["generated"])) % 50)
    with pytest.raises(DataError, match="needs the respondent rows"):
        _eco(s, covariates=["age"])
    with pytest.raises(DataError, match="needs the respondent rows"):
        _eco(s, n_boot=5, seed=1)
    with pytest.raises(DataError, match="differ from the summary"):
        ce.ecometric(s, items=ITEMS[:4], community="buurt")
    dup = DATA["generated"].assign(rid=[f"r{i // 2}" for i in range(len(DATA["generated"]))])
    duckdb = pytest.importorskip("duckdb")
    with pytest.raises(DataError, match="more than once"):
        _eco(duckdb.from_df(dup), respondent="rid")
    # a foreign frame with covariates goes to the row path (converted), same as pandas
    pl = pytest.importorskip("polars")
    assert_same_eco(_eco(df, covariates=["age"]), _eco(pl.from_pandas(df), covariates=["age"]))


@pytest.mark.parametrize("engine,dataset", ENGINE_DATA)  # Dask on one survey (see there)
def test_every_engine_gives_the_pandas_numbers(engine: str, dataset: str) -> None:
    df = DATA[dataset]
    assert_same_eco(_pandas_eco(dataset), _eco(ENGINES[engine](df)))


@functools.cache
def _pandas_eco(dataset: str) -> Any:
    """The pandas fit, once for the five engines compared with it (they only read it)."""
    return _eco(DATA[dataset])
