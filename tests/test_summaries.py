"""Any frame in, and per-community summaries that merge (issue 21).

Reference: the row path on a pandas DataFrame, itself validated against R (psych::alpha,
multilevel::ICC1/ICC2/mult.icc/gmeanrel, nlme::lme, t.test) in the reference test modules.
Here every engine's input and the summary path must give the row path's numbers:
relative tolerance 1e-10 (absolute 1e-12 for values near 0); counts, labels and notes exactly.
The sums are plain float64 sums, so engines differ only in summation order (about 1e-15).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.errors import DataError

RTOL, ATOL = 1e-10, 1e-12
ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5"]
KEYS = ["-SC3", "-SC4"]
WAVES = {"before": "nulmeting", "after": "eindmeting"}


def _with_score(df: pd.DataFrame) -> pd.DataFrame:
    scored = ce.score(df, keys={"sc": ["SC1", "SC2", "-SC3", "-SC4", "SC5"]}, scale_range=(1, 5))
    out = df.copy()
    out["sc"] = scored["sc"].to_numpy()
    return out


def _example() -> pd.DataFrame:
    """The bundled example survey, cleaned: codes outside 1-5 and unreadable cells missing."""
    df = ce.datasets.load_example().rename(columns=ce.datasets.EXAMPLE_COLUMNS)
    for c in ce.datasets.EXAMPLE_COLUMNS.values():
        v = pd.to_numeric(df[c], errors="coerce")
        df[c] = v.where(v.between(1, 5))
    df = df[df["buurt"].notna() & (df["buurt"] != "")].reset_index(drop=True)
    return _with_score(df)


def _generated() -> pd.DataFrame:
    df = ce.datasets.simulate(60, mean_size=25, dirty=False, seed=7).data
    df = df.rename(columns=ce.datasets.EXAMPLE_COLUMNS)
    rng = np.random.default_rng(3)
    for c in ITEMS:
        df[c] = df[c].astype(np.float64).mask(rng.random(len(df)) < 0.06)
    return _with_score(df)


DATA = {"example": _example(), "generated": _generated()}


def _polars(df: pd.DataFrame) -> Any:
    pl = pytest.importorskip("polars")
    return pl.from_pandas(df)


def _polars_lazy(df: pd.DataFrame) -> Any:
    return _polars(df).lazy()


def _arrow(df: pd.DataFrame) -> Any:
    pa = pytest.importorskip("pyarrow")
    return pa.Table.from_pandas(df, preserve_index=False)


def _duckdb(df: pd.DataFrame) -> Any:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.register("survey", df)
    return con.sql("select * from survey")


def _dask(df: pd.DataFrame) -> Any:
    dd = pytest.importorskip("dask.dataframe")
    return dd.from_pandas(df, npartitions=3)


ENGINES: dict[str, Callable[[pd.DataFrame], Any]] = {
    "polars": _polars,
    "polars_lazy": _polars_lazy,
    "pyarrow": _arrow,
    "duckdb": _duckdb,
    "dask": _dask,
}

#: the (engine, survey) pairs compared with pandas: every engine on both surveys, Dask on the
#: generated one only. The package has no Dask code: a Dask frame goes through the same narwhals
#: lazy query as polars_lazy and DuckDB, which run it on both surveys; Dask's query planning costs
#: about 1 s a call whatever the rows, and the generated survey (60 communities over Dask's three
#: partitions) is the one whose communities straddle partitions
ENGINE_DATA = [
    (e, d) for e in sorted(ENGINES) for d in sorted(DATA) if (e, d) != ("dask", "example")
]

#: every covered function, called alike on the pandas rows and on the other input
CALLS: dict[str, Callable[[Any], Any]] = {
    "alpha_by_community": lambda d: ce.cronbach_alpha(d, items=ITEMS, keys=KEYS, community="buurt"),
    "alpha_overall": lambda d: ce.cronbach_alpha(
        d, items=ITEMS, keys=KEYS, scale_range=(1, 5), ci_method="duhachek"
    ),
    "icc": lambda d: ce.icc(d, dv=["sc", "SC1", "SC3"], community="buurt"),
    "group_reliability": lambda d: ce.group_reliability(d, dv="sc", community="buurt"),
    "random_intercept": lambda d: ce.random_intercept(
        d, dv=ITEMS, keys=KEYS, scale_range=(1, 5), community="buurt"
    ),
    "aggregate": lambda d: ce.aggregate(d, community="buurt", wave="meting", columns=["sc", "SC2"]),
    "compare_waves": lambda d: ce.compare_waves(
        d, dv="sc", wave="meting", community="buurt", **WAVES
    ),
    "compare_waves_overall": lambda d: ce.compare_waves(
        d, dv="sc", wave="meting", community=None, **WAVES
    ),
}

#: the same statistics from a summary of the rows (one per scale / variable)
SUMMARY_CALLS: dict[str, tuple[dict[str, Any], Callable[[Any], Any]]] = {
    "alpha_by_community": (
        {"items": ITEMS, "keys": KEYS},
        lambda d: ce.cronbach_alpha(d, items=ITEMS, keys=KEYS, community="buurt"),
    ),
    "alpha_overall": (
        {"items": ITEMS, "keys": KEYS, "scale_range": (1, 5)},
        CALLS["alpha_overall"],
    ),
    "icc": ({"items": ["sc", "SC1", "SC3"]}, CALLS["icc"]),
    "group_reliability": ({"items": ["sc"]}, CALLS["group_reliability"]),
    "random_intercept": (
        {"items": ITEMS, "keys": KEYS, "scale_range": (1, 5)},
        CALLS["random_intercept"],
    ),
    "aggregate": ({"items": ["sc", "SC2"]}, CALLS["aggregate"]),
    "compare_waves": ({"items": ["sc"]}, CALLS["compare_waves"]),
}


def assert_same(a: Any, b: Any) -> None:
    """Same table (or fit): numbers to RTOL/ATOL, everything else exactly."""
    if not isinstance(a, pd.DataFrame):
        assert a.n_used == b.n_used and a.n_excluded == b.n_excluded and a.n_groups == b.n_groups
        for name in ("tau2", "sigma2", "icc"):
            va, vb = getattr(a.variance_components, name), getattr(b.variance_components, name)
            np.testing.assert_allclose(vb, va, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(b.fixed.estimate, a.fixed.estimate, rtol=RTOL)
        np.testing.assert_allclose(b.fixed.se, a.fixed.se, rtol=RTOL)
        np.testing.assert_allclose(b.loglik, a.loglik, rtol=RTOL)
        assert a.converged == b.converged
        a, b = a.groups, b.groups
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            assert pd.api.types.is_numeric_dtype(y), c
            np.testing.assert_allclose(
                y.to_numpy(np.float64), x.to_numpy(np.float64), rtol=RTOL, atol=ATOL, err_msg=c
            )
        else:
            xs = [None if pd.isna(v) else v for v in x.astype(object)]
            ys = [None if pd.isna(v) else v for v in y.astype(object)]
            assert xs == ys, c


@pytest.mark.parametrize("engine,dataset", ENGINE_DATA)
@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_engine_gives_the_pandas_numbers(call: str, engine: str, dataset: str) -> None:
    df = DATA[dataset]
    got = CALLS[call](ENGINES[engine](df))
    assert_same(pandas_result(call, dataset), got)


@functools.cache
def pandas_result(call: str, dataset: str) -> Any:
    """The pandas result of a call, computed once for every engine it is compared with (the
    comparisons only read it)."""
    return CALLS[call](DATA[dataset])


@pytest.mark.parametrize("dataset", sorted(DATA))
@pytest.mark.parametrize("call", sorted(SUMMARY_CALLS))
def test_summary_path_equals_row_path(call: str, dataset: str) -> None:
    df = DATA[dataset]
    spec, fn = SUMMARY_CALLS[call]
    wave = "meting" if call in ("aggregate", "compare_waves") else None
    summary = ce.summarise(df, community="buurt", wave=wave, min_n=None, **spec)
    assert_same(fn(df), fn(summary))


def test_summary_of_an_instrument_scale_gives_alpha_of_its_keyed_items() -> None:
    df = DATA["generated"]
    inst = ce.load_instrument("sampson1997")
    scale = inst.scales[0]
    s = ce.summarise(df, inst, scale=scale.id, community="buurt", min_n=None)
    assert s.items == tuple(scale.items)
    assert_same(ce.cronbach_alpha(df, items=list(scale.items), keys=inst), ce.cronbach_alpha(s))


def test_alpha_score_moments_are_the_summary_score() -> None:
    df = DATA["example"]
    s = ce.summarise(df, items=ITEMS, keys=KEYS, scale_range=(1, 5), community="buurt", min_n=None)
    rows = ce.aggregate(df, community="buurt", columns=["sc"], min_n=1)
    from_summary = ce.aggregate(s, community="buurt", min_n=1)
    assert list(from_summary["scale"].unique()) == ["score"]
    np.testing.assert_allclose(from_summary["mean"], rows["mean"], rtol=RTOL)
    np.testing.assert_allclose(from_summary["sd"], rows["sd"], rtol=RTOL)


# ------------------------------------------------------------------------------- merging
def _partition_frame(draw: Any) -> tuple[pd.DataFrame, np.ndarray]:
    n = draw(st.integers(2, 40))
    comm = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=n, max_size=n))
    wave = draw(st.lists(st.sampled_from(["w1", "w2"]), min_size=n, max_size=n))
    codes = st.one_of(st.none(), st.integers(1, 5))
    cols = {it: draw(st.lists(codes, min_size=n, max_size=n)) for it in ITEMS[:3]}
    parts = np.asarray(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    df = pd.DataFrame({"buurt": comm, "meting": wave, **cols}).astype(
        {it: "float64" for it in ITEMS[:3]}
    )
    return df, parts


@st.composite
def _partitioned(draw: Any) -> tuple[pd.DataFrame, np.ndarray]:
    return _partition_frame(draw)


def _summ(df: pd.DataFrame) -> ce.CommunitySummary:
    return ce.summarise(df, items=ITEMS[:3], keys=["-SC2"], scale_range=(1, 5),
                        community="buurt", wave="meting", min_n=None)  # fmt: skip


def _assert_same_summary(a: ce.CommunitySummary, b: ce.CommunitySummary) -> None:
    fa, fb = a.to_frame(), b.to_frame()
    assert list(fa.columns) == list(fb.columns)
    assert fa[a.keys].equals(fb[b.keys])
    for c in ("n_rows", "n_answered", "score_n"):
        assert fa[c].tolist() == fb[c].tolist()
    rest = [c for c in fa.columns if c not in a.keys]
    np.testing.assert_allclose(fb[rest].to_numpy(float), fa[rest].to_numpy(float),
                               rtol=1e-12, atol=1e-12)  # fmt: skip


# 15 generated partitions: a community split over holders and a partition by community are
# also explicit tests (test_partition_by_community_adds_the_communities, and the ecometric
# test_merged_partial_summaries_equal_all_rows)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_partitioned())
def test_merging_the_summaries_of_any_partition_gives_the_summary_of_all_rows(
    case: tuple[pd.DataFrame, np.ndarray],
) -> None:
    """Rows split at random over up to 4 holders: a community may be split across them."""
    df, parts = case
    whole = _summ(df)
    pieces = [_summ(df[parts == p]) for p in np.unique(parts)]
    _assert_same_summary(whole, ce.merge_summaries(pieces))
    _assert_same_summary(whole, sum(pieces[1:], pieces[0]))


def test_partition_by_community_adds_the_communities() -> None:
    df = DATA["generated"]
    names = sorted(df["buurt"].unique())
    one = df[df["buurt"].isin(names[::2])]
    two = df[~df["buurt"].isin(names[::2])]
    merged = _s(one) + _s(two)
    _assert_same_summary(_s(df), merged)
    assert_same(CALLS["icc"](df), CALLS["icc"](_summ_full(one) + _summ_full(two)))


def _s(df: pd.DataFrame) -> ce.CommunitySummary:
    return ce.summarise(df, items=ITEMS, keys=KEYS, scale_range=(1, 5), community="buurt",
                        wave="meting", min_n=None)  # fmt: skip


def _summ_full(df: pd.DataFrame) -> ce.CommunitySummary:
    return ce.summarise(df, items=["sc", "SC1", "SC3"], community="buurt", min_n=None)


def test_merge_refuses_different_scales() -> None:
    df = DATA["example"]
    a = ce.summarise(df, items=ITEMS, keys=KEYS, scale_range=(1, 5), community="buurt", min_n=None)
    b = ce.summarise(df, items=ITEMS, scale_range=(1, 5), community="buurt", min_n=None)
    with pytest.raises(DataError, match="signs"):
        a + b
    with pytest.raises(DataError, match="non-empty list"):
        ce.merge_summaries([])


# ------------------------------------------------------------------------------- privacy
def test_min_n_withholds_small_cells_and_counts_them() -> None:
    df = DATA["example"]
    full = _s(df)
    shared = ce.summarise(df, items=ITEMS, keys=KEYS, scale_range=(1, 5), community="buurt",
                          wave="meting")  # default min_n=10  # fmt: skip
    n = full.to_frame()["n_answered"].to_numpy()
    assert shared.n_withheld == int((n < 10).sum()) > 0
    assert shared.n_cells == int((n >= 10).sum())
    assert (shared.to_frame()["n_answered"] >= 10).all()
    assert shared.min_n == 10
    again = full.withhold(10)
    _assert_same_summary(shared, again)
    assert (again + again).n_withheld == 2 * shared.n_withheld
    with pytest.raises(DataError, match="min_n"):
        full.withhold(0)


def test_a_summary_holds_no_respondent_row() -> None:
    df = DATA["example"]
    s = ce.summarise(df, items=ITEMS, community="buurt", wave="meting", respondent="respondent_id")
    frame = s.to_frame()
    assert "respondent_id" not in frame.columns
    assert len(frame) == s.n_cells < len(df)


def test_respondent_twice_in_a_wave_is_refused() -> None:
    df = DATA["example"]
    twice = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="more than once"):
        ce.summarise(twice, items=ITEMS, community="buurt", wave="meting",
                     respondent="respondent_id")  # fmt: skip


# ------------------------------------------------------------------------------- saving
def test_json_and_parquet_round_trip(tmp_path: Any) -> None:
    s = _s(DATA["example"]).withhold(5)
    back = ce.CommunitySummary.from_json(s.to_json())
    _assert_same_summary(s, back)
    assert back.n_withheld == s.n_withheld and back.min_n == 5
    assert f'"schema_version": "{ce.summaries.SCHEMA_VERSION}"' in s.to_json()
    pytest.importorskip("pyarrow")
    path = tmp_path / "summary.parquet"
    s.to_parquet(path)
    _assert_same_summary(s, ce.CommunitySummary.read_parquet(path))
    assert_same(CALLS["alpha_by_community"](s), CALLS["alpha_by_community"](back))


def test_a_version_1_0_document_is_still_read() -> None:
    s = _s(DATA["example"])
    old = s.to_json().replace(f'"schema_version": "{ce.summaries.SCHEMA_VERSION}"',
                              '"schema_version": "1.0"')  # fmt: skip
    _assert_same_summary(s, ce.CommunitySummary.from_json(old))


def test_reading_a_newer_schema_is_refused() -> None:
    doc = _s(DATA["example"]).to_json()
    doc = doc.replace(
        f'"schema_version": "{ce.summaries.SCHEMA_VERSION}"', '"schema_version": "9.0"'
    )
    with pytest.raises(DataError, match="schema_version"):
        ce.CommunitySummary.from_json(doc)


# ------------------------------------------------------------------------------- refusals
def test_what_needs_the_rows_says_so() -> None:
    s = _s(DATA["example"])
    with pytest.raises(DataError, match="bootstrap"):
        ce.cronbach_alpha(s, ci_method="bootstrap")
    with pytest.raises(DataError, match="paired_on"):
        ce.compare_waves(s, dv="score", wave="meting", community="buurt", paired_on="x", **WAVES)
    with pytest.raises(DataError, match="differ"):
        ce.cronbach_alpha(s, items=ITEMS[:3])
    with pytest.raises(DataError, match="not in this summary"):
        ce.icc(s, dv="nope", community="buurt")
    with pytest.raises(DataError, match="summary is by"):
        ce.icc(s, dv="score", community="wijk")


def test_rows_only_options_on_a_foreign_frame_use_the_rows() -> None:
    df = DATA["example"]
    lazy = _polars_lazy(df)
    a = ce.cronbach_alpha(df, items=ITEMS, keys=KEYS, ci_method="bootstrap", n_boot=50, seed=1)
    b = ce.cronbach_alpha(lazy, items=ITEMS, keys=KEYS, ci_method="bootstrap", n_boot=50, seed=1)
    assert_same(a, b)
    c = ce.compare_waves(df, dv="sc", wave="meting", community="buurt", paired_on="respondent_id",
                         **WAVES)  # fmt: skip
    d = ce.compare_waves(lazy, dv="sc", wave="meting", community="buurt",
                         paired_on="respondent_id", **WAVES)  # fmt: skip
    assert_same(c, d)


def test_non_numeric_items_and_missing_labels_are_refused_in_the_engine() -> None:
    df = DATA["example"].copy()
    df.loc[3, "buurt"] = None
    with pytest.raises(DataError, match="missing label"):
        ce.icc(_polars_lazy(df), dv="sc", community="buurt")
    raw = ce.datasets.load_example()
    with pytest.raises(DataError, match="not numeric"):
        ce.summarise(_polars(raw), items=["v01_buurt_hecht"], community="buurt")


def test_other_functions_take_any_frame_through_the_conversion_layer() -> None:
    df = DATA["example"]
    items = ITEMS
    expected = ce.rwg_j(df, items=items, community="buurt", n_options=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ce.rwg_j(_duckdb(df), items=items, community="buurt", n_options=5)
    assert_same(expected, got)


# ------------------------------------------------------------------------------- distributed
def test_a_local_dask_cluster_with_two_worker_processes_gives_the_pandas_numbers() -> None:
    distributed = pytest.importorskip("distributed")
    dd = pytest.importorskip("dask.dataframe")
    import dask

    df = DATA["generated"]
    # The worker processes start from a forkserver that has imported distributed, dask and
    # pandas once (distributed preloads them), instead of two spawned interpreters importing
    # them each: still two separate processes that get the tasks pickled (6-8 -> 4-5 s CPU).
    with (
        dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        ddf = dd.from_pandas(df, npartitions=4)
        for name in ("alpha_by_community", "compare_waves"):  # the sums run on the workers
            assert_same(pandas_result(name, "generated"), CALLS[name](ddf))


# ------------------------------------------------------------------------------- out of core
@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_out_of_core_benchmark_pipeline_equals_pandas(tmp_path: Any, engine: str) -> None:
    """benchmarks/bench_summaries.py at 30,000 rows: Parquet -> engine summary -> statistics."""
    pytest.importorskip(engine)
    pytest.importorskip("pyarrow")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import bench_summaries

    bench_summaries.generate(tmp_path, 30_000, 300)
    assert bench_summaries.check(tmp_path, engine)["max_relative_difference"] < RTOL


# ------------------------------------------------------------------------------- change model
@pytest.mark.parametrize("dataset", sorted(DATA))
@pytest.mark.parametrize("source", ["summary", "polars_lazy", "duckdb", "dask"])
def test_change_model_from_per_community_sums_equals_the_rows(dataset: str, source: str) -> None:
    """Two waves, no covariates: the random-slope model from per-community wave sums.

    Tolerance 1e-10 everywhere except the prediction intervals of the generated survey, whose
    change variance is near 0: their Satterthwaite df is near 0 and the t quantile (about 1e8)
    amplifies rounding of the sums, so ``ci_low``/``ci_high`` agree to a relative 1e-7.
    """
    df = DATA[dataset]
    opts: dict[str, Any] = {"dv": "sc", "community": "buurt", "wave": "meting", **WAVES}
    rows = ce.change_model(df, **opts)
    if source == "summary":
        data = ce.summarise(df, items=["sc"], community="buurt", wave="meting", min_n=None)
    else:
        data = ENGINES[source](df)
    got = ce.change_model(data, **opts)
    assert (got.n_obs, got.n_missing, got.converged) == (rows.n_obs, rows.n_missing, rows.converged)
    for name in ("var_intercept", "var_change", "cov", "sigma2"):
        np.testing.assert_allclose(
            getattr(got.variance_components, name),
            getattr(rows.variance_components, name),
            rtol=RTOL,
            atol=ATOL,
        )
    np.testing.assert_allclose(got.loglik, rows.loglik, rtol=RTOL)
    assert_same(rows.fixed, got.fixed)
    a, b = rows.communities, got.communities
    wide = ["ci_low", "ci_high"]  # prediction intervals: see the docstring
    assert_same(a.drop(columns=wide), b.drop(columns=wide))
    for c in wide:
        if pd.api.types.is_numeric_dtype(a[c]):
            np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), rtol=1e-7)


def test_validate_score_and_evaluate_take_other_frames() -> None:
    """The rows-only entry points collect a foreign frame into pandas (same results)."""
    before, after = ce.datasets.load_example(split=True)
    cols = ce.datasets.EXAMPLE_COLUMNS
    opts: dict[str, Any] = {"community": "buurt", "respondent": "respondent_id", "columns": cols}
    v_opts = {**opts, "errors": "exclude"}
    v_pd = ce.validate(before, "sampson1997", **v_opts)
    v_pl = ce.validate(_polars(before), "sampson1997", **v_opts)
    pd.testing.assert_frame_equal(ce.score(v_pd), ce.score(v_pl))
    df = DATA["example"]
    keys = {"sc": ["SC1", "SC2", "-SC3", "-SC4", "SC5"]}
    pd.testing.assert_frame_equal(
        ce.score(df, keys=keys, scale_range=(1, 5)),
        ce.score(_duckdb(df), keys=keys, scale_range=(1, 5)),
        check_index_type=False,
    )
    ev_pd = ce.evaluate(before, after, skip_map=True, **opts)
    ev_pl = ce.evaluate(_polars(before), _arrow(after), skip_map=True, **opts)
    assert ev_pd.to_json() == ev_pl.to_json()
