"""The column-wise change table of evaluate (``_sections._change_rows``, issue 16) against the
frame-wide pandas version it replaced (kept here as the reference): the same records, value for
value and key for key, on the example, weighted, with comparison communities, with communities
in one wave only, and with nothing computed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.disclosure import ABSENT_REASON, SECONDARY_REASON
from collective_efficacy.evaluation import _sections
from collective_efficacy.evaluation._sections import AFTER, BEFORE, records

FIX = Path("tests/fixtures/survey")


def _reference(cmp: pd.DataFrame, table: pd.DataFrame, community: str, min_n: int) -> Any:
    """The change table as evaluate built it before (pivot, reindex, frame-wide .loc)."""
    t = table.drop_duplicates([community, "wave"])
    wide = t.pivot(index=community, columns="wave", values="reason")
    sup = t.pivot(index=community, columns="wave", values="suppressed")
    order = pd.Index(pd.unique(t[community]), name=community)
    seen = t.assign(_seen=True).pivot(index=community, columns="wave", values="_seen")
    seen = seen.reindex(order)
    wide, sup = wide.reindex(order), sup.reindex(order).fillna(True).astype(bool)

    def why(w: str, what: str) -> pd.Series:
        # a shown row has no reason; only a community without a row in the wave is absent
        r = wide.get(w, pd.Series(ABSENT_REASON, index=order))
        r = r.where(seen.get(w, pd.Series(np.nan, index=order)).notna(), ABSENT_REASON)
        s = sup.get(w, pd.Series(True, index=order))
        return pd.Series(
            np.select(
                [r == ABSENT_REASON, r == SECONDARY_REASON, s.to_numpy()],
                [f"no respondents in the {what} wave", SECONDARY_REASON,
                 f"n_{what} below min_n={min_n}"],
                "",
            ),
            index=order,
        )  # fmt: skip

    rb, ra = why(BEFORE, "before"), why(AFTER, "after")
    primary = [x.where(x != SECONDARY_REASON, "") for x in (rb, ra)]
    joined = primary[0].str.cat(primary[1], sep="; ").str.strip("; ")
    joined = joined.where(joined != "", rb.where(rb != "", ra))
    per = cmp[cmp["level"] == "community"].set_index(community).reindex(order)
    hit = (sup.get(BEFORE, True) | sup.get(AFTER, True)).reindex(order).fillna(True)
    hit = hit.to_numpy(dtype=bool)
    stats = [c for c in per.columns if c not in ("level", "effect_size", "method", "confidence")]
    per.loc[hit, [c for c in stats if c not in ("suppressed", "reason", "direction")]] = np.nan
    per["direction"] = per["direction"].astype(object)
    per.loc[hit, "direction"] = None
    per["level"] = "community"
    per["suppressed"] = hit | per["suppressed"].fillna(False).to_numpy(dtype=bool)
    per["reason"] = per["reason"].astype(object)
    per.loc[hit, "reason"] = joined.to_numpy()[hit]
    for c in ("effect_size", "method", "confidence"):
        if c in per.columns:
            per[c] = per[c].fillna(cmp[c].dropna().iloc[0]) if cmp[c].notna().any() else per[c]
    overall = cmp[cmp["level"] == "overall"]
    out = pd.concat([per.reset_index(), overall], ignore_index=True)[cmp.columns]
    counts = [c for c in out.columns if c.startswith("n_") and not c.startswith("n_eff")]
    return out.astype(dict.fromkeys(counts, "Int64"))


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert [list(r) for r in a] == [list(r) for r in b]  # keys in the same order
    assert repr(a) == repr(b)  # and the same values, of the same types (NaN-free: records)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every (cmp, table, community, min_n) evaluate passes to ``_change_rows``."""
    seen: list[tuple[Any, ...]] = []
    real = _sections._change_rows

    def spy(cmp: pd.DataFrame, table: pd.DataFrame, community: str, min_n: int) -> Any:
        seen.append((cmp.copy(), table.copy(), community, min_n))
        return real(cmp, table, community, min_n)

    monkeypatch.setattr(_sections, "_change_rows", spy)
    return seen


def _check(calls: list[tuple[Any, ...]]) -> None:
    assert calls
    for cmp, table, community, min_n in calls:
        got = records(_real_change_rows(cmp, table, community, min_n))
        _same(got, records(_reference(cmp, table, community, min_n)))


_real_change_rows = _sections._change_rows


def _example(**kw: Any) -> None:
    before, after = ce.datasets.load_example(split=True)
    args: dict[str, Any] = dict(community="buurt", respondent="respondent_id",
                                columns=ce.datasets.EXAMPLE_COLUMNS, skip_impact=True)  # fmt: skip
    args.update(kw)
    ce.evaluate(kw.pop("before", before), kw.pop("after", after), **args)


@pytest.mark.parametrize("min_n", [2, 10, 25])
def test_change_rows_as_before_on_the_example(calls: list[Any], min_n: int) -> None:
    _example(min_n=min_n)
    _check(calls)


def test_change_rows_as_before_with_communities_in_one_wave(calls: list[Any]) -> None:
    before, after = ce.datasets.load_example(split=True)
    labels = sorted(before["buurt"].dropna().unique())
    b = before[before["buurt"] != labels[0]]  # only at the end
    a = after[~after["buurt"].isin(labels[1:3])]  # only at baseline
    ce.evaluate(b, a, community="buurt", respondent="respondent_id",
                columns=ce.datasets.EXAMPLE_COLUMNS, skip_impact=True)  # fmt: skip
    _check(calls)


def test_change_rows_as_before_with_nothing_computed(calls: list[Any]) -> None:
    _example(min_n=10_000)
    _check(calls)


def test_change_rows_as_before_weighted_with_comparison(calls: list[Any]) -> None:
    b, a = pd.read_csv(FIX / "evaluation_baseline.csv"), pd.read_csv(FIX / "evaluation_end.csv")
    table = pd.DataFrame({"buurt": sorted(b["buurt"].unique())})
    table["vergelijking"] = table["buurt"].str.startswith("B0").astype(int)
    design = ce.SurveyDesign(weight="gewicht", strata="regio", cluster="blok")
    ce.evaluate(b, a, community="buurt", respondent="rid", design=design, skip_impact=True,
                comparison=table)  # fmt: skip
    ce.evaluate(b, a, community="buurt", respondent="rid", skip_impact=True, comparison=table)
    _check(calls)


def _mixed_frame(n: int) -> pd.DataFrame:
    """Every kind of column an evaluation's tables hold, with missing values."""
    rng = np.random.default_rng(7)
    gone = rng.random(n) < 0.3
    f = rng.normal(size=n)
    f[gone] = np.nan
    text = np.array([f"c{i % 4}" for i in range(n)], dtype=object)
    text[gone] = None
    ints = pd.array(rng.integers(0, 9, n), dtype="Int64")
    ints[gone] = pd.NA
    flags = pd.array(rng.random(n) < 0.5, dtype="boolean")
    flags[gone] = pd.NA
    counts = np.array([int(i) for i in rng.integers(0, 9, n)], dtype=object)
    counts[gone] = None
    return pd.DataFrame(
        {
            "str": pd.array(text, dtype="str"),
            "string": pd.array(text, dtype="string"),
            "object_text": text,
            "object_counts": counts,
            "object_mixed": np.array([1.5, "a", None, 2, True] * n, dtype=object)[:n],
            "object_none": np.full(n, None, dtype=object),
            "int": rng.integers(-5, 5, n),
            "float": f,
            "float32": f.astype(np.float32),
            "bool": rng.random(n) < 0.5,
            "Int64": ints,
            "boolean": flags,
            "date": pd.Series(pd.date_range("2026-01-01", periods=n)).where(~gone),
            "dup": 1.0,
        }
    ).rename(columns={"dup": "float"})  # a duplicate name: the later column's value wins


@pytest.mark.parametrize("n", [1, 2, 7, _sections._FEW_ROWS])
def test_records_of_few_rows_cell_by_cell_as_column_by_column(n: int) -> None:
    df = _mixed_frame(n)
    got = records(df)
    assert len(df) <= _sections._FEW_ROWS
    want = _sections._by_column(df, [str(k) for k in df.columns])
    assert [list(r) for r in got] == [list(r) for r in want]
    assert [[type(v) for v in r.values()] for r in got] == [
        [type(v) for v in r.values()] for r in want
    ]
    assert repr(got) == repr(want)


def _independent_reference(
    tw: Any, mb: Any, ma: Any, *, ci: float, equal_var: bool, min_n: int, hedges: str
) -> pd.DataFrame:
    """``change._common._independent_rows`` as it was (one column assignment at a time)."""
    from collective_efficacy.change import _common as c

    sup, reason = c.suppression(mb.n, ma.n, min_n)
    st = c.independent_stats(
        mb.n, mb.mean, mb.var, ma.n, ma.mean, ma.var,
        ci=ci, equal_var=equal_var, hedges_correction=hedges,
    )  # fmt: skip
    zero = ~sup & (np.nan_to_num(mb.var) == 0) & (np.nan_to_num(ma.var) == 0)
    reason[zero] = "zero variance in both waves: t, p and g undefined"
    out = c._base_frame(tw, mb, ma)
    out["mean_before"], out["mean_after"] = mb.mean, ma.mean
    out["sd_before"], out["sd_after"] = np.sqrt(mb.var), np.sqrt(ma.var)
    for col in c._STAT_COLS[:-1]:
        out[col] = st[col]
    out["p_adjusted"] = np.nan
    for col in ("g", "g_ci_low", "g_ci_high"):
        out[col] = st[col]
    out["effect_size"] = "hedges_g (pooled SD)" + c._HEDGES_NOTE[hedges]
    out["method"] = "student_t" if equal_var else "welch_t"
    stat_cols = ["mean_before", "mean_after", "sd_before", "sd_after", *c._STAT_COLS]
    stat_cols += ["g", "g_ci_low", "g_ci_high"]
    out.loc[sup, stat_cols] = np.nan
    out.loc[zero, ["se", "t", "p", "ci_low", "ci_high", "g", "g_ci_low", "g_ci_high"]] = np.nan
    out["suppressed"] = sup
    out["reason"] = reason
    return out


@pytest.mark.parametrize("equal_var", [False, True])
@pytest.mark.parametrize("hedges", ["exact", "approximate"])
def test_compare_waves_independent_rows_as_before(
    monkeypatch: pytest.MonkeyPatch, equal_var: bool, hedges: str
) -> None:
    import collective_efficacy.change as change

    rng = np.random.default_rng(3)
    n = rng.integers(0, 30, size=(2, 25))  # some communities small or absent in a wave
    rows = [(f"c{g}", wave, float(rng.normal(3 + g / 10)) if g != 4 else 2.0)  # c4: var 0
            for w, wave in enumerate(("baseline", "end")) for g in range(25)
            for _ in range(n[w, g])]  # fmt: skip
    scored = pd.DataFrame(rows, columns=["buurt", "wave", "score"])
    kw: dict[str, Any] = dict(dv="score", community="buurt", after="end", equal_var=equal_var,
                              hedges_correction=hedges, min_n=5)  # fmt: skip
    got = ce.compare_waves(scored, **kw)
    monkeypatch.setattr(change, "_independent_rows", _independent_reference)
    pd.testing.assert_frame_equal(got, ce.compare_waves(scored, **kw), check_exact=True)


def _per_community_reference(comm: pd.DataFrame, sections: Any, community: str) -> Any:
    """``evaluation._change._per_community`` as it was (frame-wide .loc and .where)."""
    from collective_efficacy.evaluation import _change

    hidden = _change._hidden(sections, community)
    hide = comm["suppressed"].to_numpy(dtype=bool) | comm[community].isin(hidden).to_numpy()
    out = comm.copy()
    counts = _change._COUNTS
    stats = [c for c in out.columns if c not in (community, "suppressed", "reason", *counts)]
    stats.remove("confidence")
    out.loc[hide, stats] = np.nan
    out["verdict"] = out["verdict"].astype(object).where(~hide, None)
    for c in counts:
        if c in out.columns:
            out[c] = out[c].astype(object).where(~hide, None)
    reason = out[community].map(hidden)
    # (since the reason fix: the evaluation's reason of a hidden community wins over the model's)
    keep = out["reason"].notna() & ~(pd.Series(hide, index=out.index) & reason.notna())
    out["reason"] = out["reason"].astype(object).where(keep, reason)
    out["suppressed"] = hide
    return out


def _agreement_reference(
    part: pd.DataFrame, inst: Any, items: list[str], community: str, listed: Any, note: Any
) -> pd.DataFrame:
    """``evaluation._sections._agreement`` as it was (pandas merges, concat and map)."""
    from collective_efficacy._groups import factorize_groups
    from collective_efficacy.agreement import ad_index, rwg_j
    from collective_efficacy.prepared import PreparedSurvey
    from collective_efficacy.scoring import reverse_items

    keyed = part[items].astype(float)
    for i in items:
        if inst.item(i).reverse:
            codes = inst.response_scale(i).codes
            keyed[i] = reverse_items(keyed[i].to_numpy(), scale_range=(codes[0], codes[-1]))
    answered = [i for i in items if keyed[i].notna().any()]
    keyed = pd.concat([part[[community]], keyed[answered]], axis=1)
    codes = inst.response_scale(items[0]).codes
    prep = PreparedSurvey(keyed)
    prep.get(("factorize_groups", community), lambda: factorize_groups(part, community))
    r = rwg_j(prep, items=answered, community=community, options=codes)
    ad = ad_index(prep, items=answered, community=community, options=codes)
    per = r[[community, "n", "rwg_j"]]
    if per[community].equals(ad[community]) and per[community].is_unique:
        per = per.assign(ad=ad["ad"].to_numpy()).reset_index(drop=True)
    else:
        per = per.merge(ad[[community, "ad"]], on=community, how="left")
    per["suppressed"] = False
    hidden = listed.loc[listed["suppressed"].to_numpy(dtype=bool), community]
    gone = pd.DataFrame({community: hidden.to_numpy(), "suppressed": True})
    per = pd.concat([per, gone], ignore_index=True) if len(gone) else per
    rank = pd.Series(np.arange(len(listed)), index=listed[community].to_numpy())
    per = per.iloc[np.argsort(per[community].map(rank).to_numpy(), kind="stable")]
    return per.astype({"suppressed": bool, "n": "Int64"}).reset_index(drop=True)


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """Every call's arguments of ``module.name`` (copied: the callee may not change them)."""
    seen: list[Any] = []
    real = getattr(module, name)

    def spy(*args: Any) -> Any:
        seen.append([a.copy() if isinstance(a, pd.DataFrame) else a for a in args])
        return real(*args)

    monkeypatch.setattr(module, name, spy)
    return seen


@pytest.mark.parametrize("min_n", [2, 10, 25])
def test_per_community_and_agreement_as_before(monkeypatch: pytest.MonkeyPatch, min_n: int) -> None:
    from collective_efficacy.evaluation import _change

    real_per, real_agree = _change._per_community, _sections._agreement
    per_calls = _spy(monkeypatch, _change, "_per_community")
    agree_calls = _spy(monkeypatch, _sections, "_agreement")
    _example(min_n=min_n)
    assert per_calls and agree_calls
    for comm, sections, community in per_calls:
        got = records(real_per(comm, sections, community))
        _same(got, records(_per_community_reference(comm, sections, community)))
    for args in agree_calls:
        _same(records(real_agree(*args)), records(_agreement_reference(*args)))


def _levels(rng: np.random.Generator, labels: list[str], basis: bool) -> pd.DataFrame:
    n = len(labels)
    level = rng.integers(0, 6, n).astype(float)
    level[rng.random(n) < 0.2] = np.nan
    out = pd.DataFrame({"buurt": pd.array(labels, dtype="str"), "level": level})
    if basis:
        out["basis"] = rng.choice(["full", "survey_only", None], n)
        out["reason"] = rng.choice(["", "fewer than 10 respondents", None], n)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_impact_change_join_as_pandas_merge(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """The numpy outer join of text labels gives impact_change the table the pandas outer merge
    gives (its order: the labels sorted; 'Ä' after 'Z', '10' before '9')."""
    from collective_efficacy.impact import _join, impact_change

    rng = np.random.default_rng(seed)
    pool = [f"Buurt {i}" for i in range(30)] + ["Ä-wijk", "Zuid", "10", "9", "a", "B", ""]
    pick = [list(rng.choice(pool, size=int(rng.integers(1, 20)), replace=False)) for _ in "ab"]
    before, after = (_levels(rng, p, basis=bool(seed % 2)) for p in pick)
    got = impact_change(before, after, community="buurt")
    monkeypatch.setattr(_join, "_few_texts", lambda keys: False)  # the pandas merge
    want = impact_change(before, after, community="buurt")
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def _finish_waves_reference(
    res: Any, tw: Any, mb: Any, ma: Any, lmm: Any, pooled_b: Any, pooled_a: Any, **kw: Any
) -> pd.DataFrame:
    """``change.finish_waves`` as it was: the overall row a column assignment at a time."""
    import collective_efficacy.change as change

    if lmm is None:
        return _real_finish_waves(res, tw, mb, ma, lmm, pooled_b, pooled_a, **kw)
    overall = pd.DataFrame([lmm])
    overall["n_before"] = int(mb.n.sum())
    overall["n_after"] = int(ma.n.sum())
    overall["n_missing"] = int(tw.n_missing.sum())
    for col, m in (("before", pooled_b), ("after", pooled_a)):
        overall[f"mean_{col}"] = float(m.mean[0]) if m.n[0] > 0 else np.nan
        overall[f"sd_{col}"] = float(np.sqrt(m.var[0])) if m.n[0] > 1 else np.nan
    overall["effect_size"] = "beta_wave / sqrt(tau2 + sigma2)"
    overall["suppressed"] = False
    overall = overall.drop(columns=["tau2", "sigma2"], errors="ignore")
    overall["level"] = "overall"
    overall[tw.community] = change.OVERALL
    if "p" in overall:
        overall["p_adjusted"] = overall["p"]
    out = res.copy()
    if len(out):
        p = out["p"].to_numpy(dtype=np.float64)
        out["p_adjusted"] = change.p_adjust_array(p, kw["p_adjust"])
    out = pd.concat([out, overall.reindex(columns=out.columns)], ignore_index=True)
    out["direction"] = change._direction(
        out["diff"].to_numpy(dtype=np.float64), change._wave_scale(out)
    )
    out["confidence"] = kw["ci"]
    for col in ("n_before", "n_after", "n_missing", "n_paired", "n_attrition"):
        if col in out:
            out[col] = out[col].fillna(0).astype(np.int64)
    out["suppressed"] = out["suppressed"].astype(bool)
    change.text_columns(out, ["level", "effect_size", "direction", "method", "reason"])
    return out


_real_finish_waves: Any = None


@pytest.mark.parametrize("paired", [False, True])
def test_compare_waves_overall_row_as_before(monkeypatch: pytest.MonkeyPatch, paired: bool) -> None:
    import collective_efficacy.change as change

    global _real_finish_waves
    _real_finish_waves = change.finish_waves
    rng = np.random.default_rng(5)
    rows = [(f"c{g}", wave, f"r{g}_{k}", float(rng.normal(3 + g / 10)))
            for wave in ("baseline", "end") for g in range(12)
            for k in range(int(rng.integers(3, 25)))]  # fmt: skip
    df = pd.DataFrame(rows, columns=["buurt", "wave", "rid", "score"])
    kw: dict[str, Any] = dict(dv="score", community="buurt", after="end", min_n=5)
    if paired:
        kw["paired_on"] = "rid"
    got = ce.compare_waves(df, **kw)
    monkeypatch.setattr(change, "finish_waves", _finish_waves_reference)
    pd.testing.assert_frame_equal(got, ce.compare_waves(df, **kw), check_exact=True)
    no_community = {**kw, "community": None}
    got = ce.compare_waves(df, **no_community)
    monkeypatch.setattr(change, "finish_waves", _real_finish_waves)
    pd.testing.assert_frame_equal(got, ce.compare_waves(df, **no_community), check_exact=True)


def _with_absent_waves_reference(table: pd.DataFrame, community: str) -> pd.DataFrame:
    """``evaluation._steps._with_absent_waves`` as it was (MultiIndex difference, sort_values)."""
    have = table.set_index([community, "wave"]).index
    full = pd.MultiIndex.from_product(
        [pd.unique(table[community]), [BEFORE, AFTER]], names=[community, "wave"]
    )
    absent = full.difference(have)
    if absent.empty:
        return table
    add = absent.to_frame(index=False).assign(
        scale=table["scale"].iloc[0], n=0, suppressed=True, reason=ABSENT_REASON
    )
    out = pd.concat([table, add], ignore_index=True)
    order = pd.Categorical(out["wave"], categories=[BEFORE, AFTER])
    return (
        out.assign(_order=order)
        .sort_values([community, "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


@pytest.mark.parametrize("seed", range(5))
def test_with_absent_waves_as_before(seed: int) -> None:
    from collective_efficacy.evaluation._steps import _with_absent_waves

    rng = np.random.default_rng(seed)
    pool = ["Buurt 2", "Buurt 10", "Ä-wijk", "Zuid", "a", "B", "10", "9"]
    rows = [(c, w, s) for c in pool for w in (AFTER, BEFORE) for s in ("x", "y")[: 1 + seed % 2]
            if rng.random() < 0.7]  # fmt: skip
    rows = [rows[i] for i in rng.permutation(len(rows))]
    table = pd.DataFrame(rows, columns=["buurt", "wave", "scale"])
    table["n"] = rng.integers(1, 40, len(table))
    table["mean"] = rng.normal(size=len(table))
    table["suppressed"] = table["n"] < 10
    table["reason"] = np.where(table["suppressed"], "fewer than 10 respondents", None)
    got = _with_absent_waves(table, "buurt")
    pd.testing.assert_frame_equal(got, _with_absent_waves_reference(table, "buurt"))


@pytest.mark.parametrize("full", [True, False])
def test_impact_join_keeps_dtypes_as_pandas_merge(full: bool) -> None:
    """Boolean, integer and float32 columns come out of the numpy join with the dtypes and
    values pandas' outer merge gives (kept when no row is missing; else float64 / object)."""
    from collective_efficacy.impact._join import _merged, outer_join

    a = pd.DataFrame(
        {
            "buurt": ["x", "y", "z"],
            "level": [1, 2, 3],
            "basis": [True, False, True],
            "f": np.array([1.5, 2, 3], dtype=np.float32),
        }
    )
    b = a.iloc[: 3 if full else 2].copy()
    got, ref = outer_join([a, b], "buurt"), _merged([a, b], "buurt")
    assert list(got) == list(ref)
    for k in ref:
        assert got[k].dtype == ref[k].dtype, k
        assert pd.Series(got[k]).equals(pd.Series(ref[k])), k
