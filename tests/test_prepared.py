"""The prepared pass: a PreparedSurvey gives the numbers of the plain calls, to 1e-12.

Reference: the library's own public functions called one by one on the DataFrame (themselves
tested against R/pingouin/statsmodels in the reference tests). Tolerance: 1e-12 absolute and
relative (the same code runs on the same arrays; only which call computes them first differs).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy import prepared

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5"]
TOL = 1e-12


def _survey(n: int = 1500, g: int = 60, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    comm = rng.integers(0, g, n)
    u = rng.normal(0, 0.5, g)[comm]
    x = np.clip(np.rint(3 + u[:, None] + rng.normal(0, 0.9, (n, len(ITEMS)))), 1, 5)
    x[:, 2] = 6 - x[:, 2]  # one reverse-worded item
    x[rng.random(x.shape) < 0.08] = np.nan
    df = pd.DataFrame(x, columns=ITEMS)
    df.insert(0, "community", np.char.add("Buurt ", comm.astype(str)).astype(object))
    df = df[df[ITEMS].notna().any(axis=1)].reset_index(drop=True)
    df["score"] = df[ITEMS].mean(axis=1)
    return df


KEYS = {"SC3": -1}


def _calls() -> list[tuple[str, Any]]:
    """(name, call on data): several functions sharing items, codes and moments."""
    return [
        ("alpha", lambda d: ce.cronbach_alpha(d, items=ITEMS, keys=KEYS)),
        (
            "alpha_grouped",
            lambda d: ce.cronbach_alpha(d, items=ITEMS, keys=KEYS, community="community"),
        ),
        ("items", lambda d: ce.item_statistics(d, items=ITEMS, keys=KEYS)),
        ("omega", lambda d: ce.omega(d, items=ITEMS, keys=KEYS).summary()),
        ("icc", lambda d: ce.icc(d, dv="score", community="community")),
        ("rwg_j", lambda d: ce.rwg_j(d, items=ITEMS, community="community", options=5)),
        ("ad", lambda d: ce.ad_index(d, items=ITEMS, community="community", options=5)),
        ("eco", lambda d: _model(ce.ecometric(d, items=ITEMS, community="community", keys=KEYS))),
        ("ri", lambda d: _model(ce.random_intercept(d, dv="score", community="community"))),
    ]


def _model(res: Any) -> pd.DataFrame:
    """Every number and label of a fitted model, as one row."""
    flat = _flat(json.loads(res.model_dump_json()))
    return pd.DataFrame([{k: v for k, v in flat.items() if v is not None}])


def _close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            xv = x.to_numpy(dtype=float, na_value=np.nan)
            yv = y.to_numpy(dtype=float, na_value=np.nan)
            np.testing.assert_allclose(xv, yv, rtol=TOL, atol=TOL, equal_nan=True, err_msg=c)
        else:
            assert (
                x.astype(object).where(x.notna(), None).tolist()
                == y.astype(object).where(y.notna(), None).tolist()
            ), c


def test_prepared_equals_plain_calls() -> None:
    df = _survey()
    plain = {name: f(df) for name, f in _calls()}
    prep = ce.PreparedSurvey(df)
    for name, f in _calls():  # one object: later calls reuse what earlier ones computed
        _close(f(prep), plain[name])
    assert "PreparedSurvey" in repr(prep) and "prepared arrays" in repr(prep)


def test_prepared_shares_work_and_freezes_it() -> None:
    df = _survey(300, 20)
    prep = ce.PreparedSurvey(df)
    ce.cronbach_alpha(prep, items=ITEMS, keys=KEYS)
    n_cached = len(prep._cache)
    ce.item_statistics(prep, items=ITEMS, keys=KEYS)  # same items, keys and policy: all shared
    ce.cronbach_alpha(prep, items=ITEMS, keys=KEYS)
    assert len(prep._cache) == n_cached
    arrays = [v for v in prep._cache.values() if isinstance(v, np.ndarray)]
    assert arrays and not any(a.flags.writeable for a in arrays)


def test_prepared_keyword_data_and_context_manager() -> None:
    df = _survey(300, 20)
    ref = ce.icc(df, dv="score", community="community")
    _close(ce.icc(data=ce.PreparedSurvey(df), dv="score", community="community"), ref)
    with ce.PreparedSurvey(df) as p:
        _close(ce.icc(df, dv="score", community="community"), ref)
        assert len(p._cache) > 0  # the plain frame was recognised inside the block


def test_prepared_leaves_the_frame_unchanged() -> None:
    df = _survey(300, 20)
    before = df.copy(deep=True)
    prep = ce.PreparedSurvey(df)
    for _, f in _calls():
        f(prep)
    pd.testing.assert_frame_equal(df, before)


def test_prepared_refuses_non_frames() -> None:
    with pytest.raises(ce.DataError, match="DataFrame"):
        ce.PreparedSurvey([1, 2, 3])  # type: ignore[arg-type]


def test_prepared_takes_any_frame_once_collected() -> None:
    """A polars or DuckDB frame is collected once; the numbers are the pandas ones (1e-12)."""
    pl = pytest.importorskip("polars")
    df = _survey()
    for frame in (pl.from_pandas(df), pl.from_pandas(df).lazy()):
        prep = ce.PreparedSurvey(frame)
        assert isinstance(prep.data, pd.DataFrame)
        got = ce.rwg_j(prep, items=ITEMS, community="community", options=5)
        want = ce.rwg_j(df, items=ITEMS, community="community", options=5)
        _close(got, want)
    with pytest.raises(ce.DataError, match="summarise"):
        ce.PreparedSurvey({"a": [1]})  # type: ignore[arg-type]


def _flat(obj: Any, path: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{path}/{k}"))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flat(v, f"{path}[{i}]"))
        return out
    return {path: obj}


def test_evaluate_prepared_path_equals_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate (one preparation per wave) == evaluate with every call computing afresh."""
    before, after = ce.datasets.load_example(split=True)
    cols = ce.datasets.EXAMPLE_COLUMNS
    kw: dict[str, Any] = {"community": "buurt", "respondent": "respondent_id", "columns": cols}
    fast = json.loads(ce.evaluate(before, after, **kw).to_json())
    monkeypatch.setattr(prepared, "memo", lambda data, key, compute: compute())
    mods = (
        "_checks",
        "_groups",
        "agreement._groups",
        "agreement._levels",
        "reliability._input",
        "reliability",
    )
    for mod in (*mods, "reliability.items"):
        monkeypatch.setattr(f"collective_efficacy.{mod}.memo", lambda data, key, compute: compute())
    for mod in ("disclosure._rules", "evaluation._sections"):  # no coding reused from a preparation
        monkeypatch.setattr(f"collective_efficacy.{mod}.lookup", lambda data, key: None)
    slow = json.loads(ce.evaluate(before, after, **kw).to_json())
    a, b = _flat(fast), _flat(slow)
    assert a.keys() == b.keys()
    n_numbers = 0
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, float) and isinstance(y, float):
            n_numbers += 1
            assert math.isclose(x, y, rel_tol=TOL, abs_tol=TOL) or (
                math.isnan(x) and math.isnan(y)
            ), k
        elif not k.endswith(("created", "generated_at", "library_version")):
            assert x == y, k
    assert n_numbers > 100


def test_pairwise_moments_without_rows() -> None:
    """No rows (e.g. listwise deletion removed all): every covariance undefined, no crash."""
    from collective_efficacy.reliability._core import pairwise_moments

    for groups in (1, 3):
        m = pairwise_moments(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), groups)
        assert m.cov.shape == (groups, 4, 4) and np.isnan(m.cov).all()
        assert (m.n_rows == 0).all() and (m.n_pair == 0).all()


def test_prepared_score_and_aggregate_equal_plain() -> None:
    """score (which zeroes missing cells in place on its own copy, and reads the shared
    read-only matrix on a PreparedSurvey) and aggregate: prepared == plain, frame unchanged."""
    df = _survey(800, 30)
    before = df.copy(deep=True)
    keys = {"coh": ["SC1", "SC2", "-SC3", "SC4", "SC5"], "two": ["SC5", "-SC1"]}
    prep = ce.PreparedSurvey(df)
    ce.cronbach_alpha(prep, items=ITEMS, keys=KEYS)  # the item matrix is now shared, read-only
    plain = ce.score(df, keys=keys, scale_range=(1, 5))
    fast = ce.score(prep, keys=keys, scale_range=(1, 5))
    _close(fast, plain)
    pd.testing.assert_frame_equal(df, before)
    plain["community"] = df["community"]
    fast["community"] = df["community"]
    _close(
        ce.aggregate(ce.PreparedSurvey(fast), community="community", min_n=5),
        ce.aggregate(plain, community="community", min_n=5),
    )
