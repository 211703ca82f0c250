"""The cheaper paths for small tables give what the previous formulas gave, exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import collective_efficacy as ce
import collective_efficacy.change as change
from collective_efficacy import _checks
from collective_efficacy.agreement import _groups
from collective_efficacy.change import _common, _survey
from collective_efficacy.errors import DataError
from collective_efficacy.impact import _inputs, _rules
from reference_previous import result_frame_by_assignment


# -- numeric_matrix: column by column up to _SMALL_ROWS rows, one block copy above ----------------
def _frames() -> list[pd.DataFrame]:
    rng = np.random.default_rng(17)
    n = 37
    frames = [
        pd.DataFrame(
            {
                "a": rng.integers(1, 6, n).astype(np.int8),
                "b": rng.normal(size=n),
                "c": rng.integers(0, 2**40, n).astype(np.uint64),
                "d": rng.normal(size=n).astype(np.float32),
                "g": np.char.add("G", rng.integers(0, 4, n).astype(str)),
            }
        ),
        pd.DataFrame(rng.integers(1, 6, (n, 4)).astype(float), columns=list("abcd")),
        pd.DataFrame({"a": [], "b": [], "c": [], "d": []}, dtype=float),
    ]
    frames[1].iloc[3, 2] = np.nan
    frames[0].loc[5, "b"] = np.nan
    return frames


@pytest.mark.parametrize("cols", [["a"], ["b", "a"], ["a", "b", "c", "d"], ["d", "c"]])
def test_numeric_matrix_small_path_equals_the_block_copy(
    monkeypatch: pytest.MonkeyPatch, cols: list[str]
) -> None:
    for frame in _frames():
        monkeypatch.setattr(_checks, "_SMALL_ROWS", 10**9)
        small = _checks._numeric_matrix(frame, cols)
        monkeypatch.setattr(_checks, "_SMALL_ROWS", -1)
        block = _checks._numeric_matrix(frame, cols)
        # the previous formula
        want = frame[cols].to_numpy(dtype=np.float64).copy(order="C")
        for got in (small, block):
            assert got.dtype == np.float64 and got.flags.c_contiguous and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            assert not np.shares_memory(got, frame[cols[0]].to_numpy())


def test_numeric_matrix_small_path_refuses_infinity(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"a": [1.0, np.inf, 2.0], "b": [1, 2, 3]})
    for rows in (10**9, -1):
        monkeypatch.setattr(_checks, "_SMALL_ROWS", rows)
        with pytest.raises(DataError, match="column 'a'.*expected a finite number"):
            _checks._numeric_matrix(frame, ["b", "a"])


# -- agreement result frames: the columns added at once ------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [
        ["b", "a", "b", "c"],
        [3, 1, 3, 2],
        pd.Categorical(["x", "y", "x", "z"], categories=["z", "y", "x", "w"]),
        [],
    ],
)
def test_result_frame_equals_column_by_column(labels: Any) -> None:
    data = pd.DataFrame({"g": labels, "h": np.arange(len(labels)) % 2})
    for names in (["g"], ["g", "h"]):
        groups = _groups.code_groups(data, names)
        k = groups.n_slots
        columns: dict[str, Any] = {
            "n": np.arange(k, dtype=np.int64),
            "mean": np.linspace(0.5, 2.0, k),
            "flag": np.arange(k) % 2 == 0,
            "note": np.array([None, "few"] * k, dtype=object)[:k],
            "level": pd.array(list(range(k)), dtype="Int64"),
            "method": "mean",
            "scalar": 2.5,
        }
        got = _groups.result_frame(groups, columns)
        want = result_frame_by_assignment(groups, columns)
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_column_type=True)
        assert got.columns.dtype == want.columns.dtype
        assert list(got.dtypes) == list(want.dtypes)


# -- impact: nullable arrays built directly, the assessment frame at once, the unique check ------
def test_nullable_arrays_equal_the_masked_assignment() -> None:
    rng = np.random.default_rng(5)
    for n in (0, 1, 9):
        values = rng.integers(0, 6, n)
        for ok in (values > 2, np.ones(n, dtype=bool), np.zeros(n, dtype=bool)):
            want = pd.array(np.where(ok, values, 0).astype(np.int64), dtype="Int64")
            want[~ok] = pd.NA  # the previous formula
            got = _rules._int_or_na(values, ok)
            pd.testing.assert_extension_array_equal(got, want)
            np.testing.assert_array_equal(got._data, want._data)
            flags = values % 2 == 0
            want_b = pd.array(flags, dtype="boolean")
            want_b[~ok] = pd.NA
            got_b = _rules._bool_or_na(flags, ok)
            pd.testing.assert_extension_array_equal(got_b, want_b)
            assert not np.shares_memory(got_b._data, flags)


def test_assessment_frame_equals_the_column_assignments() -> None:
    index = [7, 7, 2]  # repeated labels: nothing is aligned on them
    frame = pd.DataFrame(
        {
            "community": pd.Series(["a", "b", "c"], dtype=object, index=index),
            "wave": ["w1", "w1", "w2"],
            "partner_cooperation": pd.array([1, None, 3], dtype="Int64"),
            "group_development": [2.0, 4.0, np.nan],
            "meetings_held": [3, 0, 1],
            "leaders": pd.Series(["2", None, "1"], dtype=object, index=index),
            "extra": ["x", "y", "z"],
        },
        index=index,
    )
    for keys in (["community"], ["community", "wave"], ["wave", "community"]):
        got = _inputs._assessment_frame(frame, keys)
        want = frame[keys].copy()  # the previous formula
        want[list(_rules._DIMENSIONS)] = _checks.numeric_matrix(frame, list(_rules._DIMENSIONS))
        for c in _rules.EVIDENCE_COLUMNS:
            if c in frame.columns:
                want[c] = frame[c].to_numpy(copy=True)
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_column_type=True)
        assert list(got.dtypes) == list(want.dtypes)


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([None, np.nan], object),
        (["a", None, np.nan], "str"),
        ([1.0, np.nan, np.nan], float),
        ([0.0, -0.0], float),
        ([1, 1.0, True], object),
        (["a", "A"], "str"),
        (["a", "b"], object),
    ],
)
def test_unique_check_of_one_key_equals_duplicated(values: list[Any], dtype: Any) -> None:
    frame = pd.DataFrame({"k": pd.Series(values, dtype=dtype)})
    if frame.duplicated(subset=["k"], keep=False).any():  # the previous rule
        with pytest.raises(DataError, match="sharing the same k"):
            _inputs._check_unique(frame, ["k"], "t")
    else:
        _inputs._check_unique(frame, ["k"], "t")


# -- paired comparison: the statistic columns added at once --------------------------------------
def _paired_rows_by_assignment(
    tw: Any, mb: Any, ma: Any, *, ci: float, min_n: int, variant: str, hedges: str
) -> pd.DataFrame:
    """The previous formula: one column assignment each, then the masks through .loc."""
    g_count = len(tw.labels)
    pr = _common.pair_up(tw)
    pb = _common.moments(pr.before, pr.codes, g_count)
    pa = _common.moments(pr.after, pr.codes, g_count)
    pdm = _common.moments(pr.after - pr.before, pr.codes, g_count)
    n = pdm.n
    sup, reason = _common.suppression(mb.n, ma.n, min_n, n_pairs=n)
    st = _common.paired_stats(
        n, pb.mean, pa.mean, pb.var, pa.var, pdm.var, ci=ci, hedges_correction=hedges
    )
    zero = ~sup & (np.nan_to_num(pdm.var) == 0)
    reason[zero] = "zero variance of the paired differences: t, p and effect sizes undefined"
    out = _common._base_frame(tw, mb, ma)
    out["n_paired"] = n.astype(np.int64)
    out["n_attrition"] = (mb.n + ma.n - 2 * n).astype(np.int64)
    out["mean_before"], out["mean_after"] = pb.mean, pa.mean
    out["sd_before"], out["sd_after"] = np.sqrt(pb.var), np.sqrt(pa.var)
    out["r"] = st["r"]
    for col in _common._STAT_COLS[:-1]:
        out[col] = st[col]
    out["p_adjusted"] = np.nan
    d, lo, hi = st["effects"][variant]
    j = st["J"]
    out["g"], out["g_ci_low"], out["g_ci_high"] = j * d, j * lo, j * hi
    out["effect_size"] = f"g_{variant} = J(n-1) * d_{variant}" + _common._HEDGES_NOTE[hedges]
    eff_cols = []
    for name in _common.PAIRED_VARIANTS:
        d, lo, hi = st["effects"][name]
        out[f"d_{name}"], out[f"d_{name}_ci_low"], out[f"d_{name}_ci_high"] = d, lo, hi
        eff_cols += [f"d_{name}", f"d_{name}_ci_low", f"d_{name}_ci_high"]
    out["method"] = "paired_t"
    stat_cols = ["mean_before", "mean_after", "sd_before", "sd_after", "r", *_common._STAT_COLS]
    stat_cols += ["g", "g_ci_low", "g_ci_high", *eff_cols]
    out.loc[sup, stat_cols] = np.nan
    undefined = ["se", "t", "p", "ci_low", "ci_high", "r", "g", "g_ci_low", "g_ci_high"]
    out.loc[zero, undefined + eff_cols] = np.nan
    out["suppressed"] = sup
    out["reason"] = reason
    return out


@pytest.mark.parametrize("seed", range(2))
def test_paired_rows_equal_the_column_assignments(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 90
    rid = np.arange(n).astype(str)
    com = np.char.add("C", rng.integers(0, 7, n).astype(str))
    com[:3] = "small"  # suppressed (min_n 5)
    before = rng.integers(1, 6, n).astype(float)
    after = before + rng.integers(-1, 2, n)
    after[com == "C1"] = before[com == "C1"] + 1.0  # zero variance of the differences
    keep = rng.random(n) < 0.8  # attrition
    frame = pd.DataFrame(
        {
            "rid": np.concatenate([rid, rid[keep]]),
            "community": np.concatenate([com, com[keep]]),
            "wave": ["b"] * n + ["a"] * int(keep.sum()),
            "y": np.concatenate([before, after[keep]]),
        }
    )
    kw: dict[str, Any] = {
        "dv": "y", "wave": "wave", "before": "b", "after": "a", "community": "community",
        "paired_on": "rid", "min_n": 5,
    }  # fmt: skip
    for got in _paired_rows_compared(monkeypatch, frame, kw):
        assert got["suppressed"].any() and not got["suppressed"].all()
        assert got["reason"].str.contains("zero variance", na=False).any()


def _paired_rows_compared(
    monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame, kw: dict[str, Any]
) -> list[pd.DataFrame]:
    """compare_waves with each paired effect equals it with the previous _paired_rows (exact,
    dtypes too); returns the results for the caller's checks of what they hold."""
    out = []
    for effect in ("av", "z", "rm", "av_lakens"):
        got = ce.compare_waves(frame, paired_effect=effect, **kw)
        with monkeypatch.context() as mp:
            mp.setattr(change, "_paired_rows", _paired_rows_by_assignment)
            want = ce.compare_waves(frame, paired_effect=effect, **kw)
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_column_type=True)
        assert list(got.dtypes) == list(want.dtypes)
        out.append(got)
    return out


def test_paired_rows_equal_the_column_assignments_when_nothing_is_suppressed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The branch the seeds above never take: no community suppressed, none of zero variance."""
    rng = np.random.default_rng(11)
    n = 80
    rid = np.arange(n).astype(str)
    com = np.char.add("C", rng.integers(0, 4, n).astype(str))
    before = rng.integers(1, 6, n).astype(float)
    after = np.clip(before + rng.integers(-2, 3, n), 1, 5)
    frame = pd.DataFrame(
        {"rid": np.concatenate([rid, rid]), "community": np.concatenate([com, com]),
         "wave": ["b"] * n + ["a"] * n, "y": np.concatenate([before, after])}
    )  # fmt: skip
    kw: dict[str, Any] = {
        "dv": "y", "wave": "wave", "before": "b", "after": "a", "community": "community",
        "paired_on": "rid", "min_n": 2,
    }  # fmt: skip
    for got in _paired_rows_compared(monkeypatch, frame, kw):
        assert not got["suppressed"].any()
        assert not got["reason"].str.contains("zero variance", na=False).any()


# -- weighted change per community: suppressed statistics masked before the frame is built --------
def _weighted_rows_by_loc(
    dm: Any,
    labels: Any,
    n_missing: np.ndarray,
    name: str,
    ci: float,
    min_n: int,
    p_adjust: str,
) -> pd.DataFrame:
    """The previous formula: the suppressed rows set to NaN through .loc."""
    from collective_efficacy.change import p_adjust as _p_adjust

    g = len(labels)
    mb, ma = dm.mean[0::2], dm.mean[1::2]
    se = np.sqrt(dm.se[0::2] ** 2 + dm.se[1::2] ** 2)
    zq = float(_survey._dist.norm_ppf(0.5 + ci / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = ma - mb
        zstat = diff / se
    p = 2 * _survey._dist.norm_sf(np.abs(zstat))
    n_b, n_a = dm.n[0::2], dm.n[1::2]
    sup = (n_b < min_n) | (n_a < min_n)
    out = pd.DataFrame(
        {
            "level": "community",
            name: labels.to_numpy(dtype=object),
            "n_before": n_b,
            "n_after": n_a,
            "n_missing": n_missing,
            "sum_weights_before": dm.sum_weights[0::2],
            "sum_weights_after": dm.sum_weights[1::2],
            "n_eff_before": dm.n_eff[0::2],
            "n_eff_after": dm.n_eff[1::2],
            "mean_before": mb,
            "mean_after": ma,
            "sd_before": dm.sd[0::2],
            "sd_after": dm.sd[1::2],
            "diff": diff,
            "se": se,
            "ci_low": diff - zq * se,
            "ci_high": diff + zq * se,
            "t": zstat,
            "df": np.inf,
            "p": p,
        }
    )
    stat_cols = [c for c in out.columns[5:]]
    out.loc[sup, stat_cols] = np.nan
    keep = ~sup & np.isfinite(out["p"].to_numpy(dtype=np.float64))
    padj = np.full(g, np.nan)
    if keep.any():
        padj[keep] = _p_adjust(out["p"].to_numpy(dtype=np.float64)[keep], method=p_adjust)
    out["p_adjusted"] = padj
    out["suppressed"] = sup
    return out


def test_weighted_community_rows_equal_the_loc_assignment(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    n = 120
    frame = pd.DataFrame(
        {
            "c": np.char.add("C", rng.integers(0, 5, n).astype(str)),
            "wave": np.where(rng.random(n) < 0.5, "baseline", "end_of_cycle"),
            "score": rng.normal(3, 1, n),
            "w": rng.uniform(0.5, 2.0, n),
        }
    )
    frame.loc[:1, "c"] = "small"  # suppressed (min_n 5)
    for data in (frame, frame[frame["c"] != "small"]):
        kw: dict[str, Any] = {"dv": "score", "community": "c", "weight": "w", "min_n": 5}
        kw["after"] = "end_of_cycle"
        got = ce.compare_waves(data, **kw)
        with monkeypatch.context() as mp:
            mp.setattr(_survey, "_community_rows", _weighted_rows_by_loc)
            want = ce.compare_waves(data, **kw)
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_column_type=True)
        assert list(got.dtypes) == list(want.dtypes)
        assert bool(got["suppressed"].any()) == (data is frame)


# -- built-in instruments: the YAML parsed once ---------------------------------------------------
@pytest.mark.parametrize("name", ["sampson1997", "cbs_vm_sociale_cohesie", "strongpact_assessment"])
def test_builtin_instrument_from_the_cached_parse_equals_a_fresh_parse(name: str) -> None:
    from collective_efficacy import instrument

    path = instrument._builtin_dir() / f"{name}.yaml"
    # parsed here, not through the module's parse cache (which _from_text reads)
    fresh = instrument.instrument_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")), "f")
    first = instrument.load_instrument(name)
    assert first == fresh
    first.scales.clear()  # a caller changing its copy changes no later load
    first.notes["x"] = "y"
    second = instrument.load_instrument(name)
    assert second == fresh and second is not first
