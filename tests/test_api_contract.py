"""The public API contract (shared/CONVENTIONS.md), checked over every public function.

* a signature test over ``ce.__all__`` (and the public functions of ``ce.export``,
  ``ce.disclosure`` and ``ce.plot``): vocabulary, keyword-only options, defaults;
* a generated test that feeds every public function an invalid value for every parameter whose
  constraint it declares (``_params.public``), and expects the typed error naming the parameter;
* the deprecation shims: old spellings still work, with a FutureWarning naming the new one;
* one reverse-keying rule: ``cronbach_alpha(data, keys=inst)`` and ``score(data, inst)`` agree.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy import disclosure, export
from collective_efficacy._params import Options
from collective_efficacy.errors import ParameterError
from collective_efficacy.report import plot


def _public_functions() -> dict[str, Callable[..., Any]]:
    out: dict[str, Callable[..., Any]] = {}
    for name in ce.__all__:
        obj = getattr(ce, name)
        if inspect.isfunction(obj):
            out[name] = obj
    for mod in (export, disclosure, plot):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                out[f"{mod.__name__.rsplit('.', 1)[-1]}.{name}"] = obj
    return out


FUNCTIONS = _public_functions()

#: functions whose inputs are not one table: the positional parameters they keep, and why
POSITIONAL = {
    "validate": ("data", "instrument"),  # the instrument defines the data
    "score": ("data", "instrument"),
    "evaluate": ("baseline", "end_of_cycle"),  # two files / frames, one per wave
    "paired_change": ("before", "after"),  # two arrays of scores
    "reliable_change": ("before", "after"),
    "impact_change": ("levels_before", "levels_after"),
    "load_instrument": ("name_or_path",),
    "read_responses": ("path",),
    "read_response_file": ("path",),
    "reverse_items": ("values",),  # an array of codes
    "cohesion_levels": ("scores",),  # an array of scores
    "p_adjust": ("p",),  # an array of p-values
    "rwg_j_null": ("n",),  # a community size, no data
    "impact_map": ("levels", "geometry"),  # a table and its map
    "export.to_geojson": ("levels", "geometry"),
    "export.write_csv": ("table", "path"),
    "export.write_xlsx": ("tables", "path"),
    "export.to_xlsform": ("instrument", "path"),  # a questionnaire, not data
    "export.to_codebook": ("instrument", "path"),
    "read_geometry": ("path",),  # a map file
    "disclosure.counts_publishable": ("table", "rows"),
    "disclosure.hide_suppressed": ("sections",),
    "disclosure.one_pattern": ("table",),
    "disclosure.publishable_table": ("table",),
    "disclosure.secondary_suppression": ("table",),
    "disclosure.shown_respondents": ("scores", "table"),
    "disclosure.total_is_safe": ("hidden",),
    "plot.impact_map": ("levels", "geometry"),
    "summarise": ("data", "instrument"),  # the instrument defines the scale, as in score()
    "merge_summaries": ("summaries",),  # a list of summaries, no table
}

#: spellings replaced by the contract (removed in 2.0; the shims keep them working until then)
OLD_NAMES = {"group", "key", "response_range", "scale_min", "scale_max", "low", "high"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_signature_follows_the_contract(name: str) -> None:
    sig = inspect.signature(FUNCTIONS[name])
    params = list(sig.parameters.values())
    positional = [p.name for p in params if p.kind is not p.KEYWORD_ONLY]
    # everything after data is keyword-only
    assert tuple(positional) == POSITIONAL.get(name, ("data",) if params else ()), positional
    assert not OLD_NAMES & set(sig.parameters), sorted(OLD_NAMES & set(sig.parameters))
    for p in params:
        if p.kind is p.KEYWORD_ONLY:
            if p.name == "min_n":
                assert p.default == 10
            if p.name == "ci":
                assert p.default == 0.95
            if p.name == "seed":
                assert p.default is None or isinstance(p.default, int)
            if p.name == "before":
                assert p.default == "baseline"
            if p.name == "after":
                assert p.default == "end_of_cycle"
            if p.name == "method" and isinstance(p.default, str):
                assert p.default == p.default.lower()
        assert p.kind is not p.VAR_KEYWORD and p.kind is not p.VAR_POSITIONAL


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_declared_options_contain_their_defaults(name: str) -> None:
    func = FUNCTIONS[name]
    sig = inspect.signature(func)
    for pname, accepted in getattr(func, "__ce_constraints__", {}).items():
        default = sig.parameters[pname].default
        if default is inspect.Parameter.empty:
            continue
        ok = any(
            (c is None and default is None) or (c is not None and c.accepts(default))
            for c in accepted
        )
        assert ok, (pname, default)


def test_functions_that_meet_nan_declare_nan_policy() -> None:
    for name in ("icc", "group_reliability", "rwg", "rwg_j", "ad_index", "random_intercept",
                 "cronbach_alpha", "item_statistics", "omega", "compare_waves",
                 "compare_waves_eb", "bootstrap_change", "change_model"):  # fmt: skip
        assert "nan_policy" in inspect.signature(FUNCTIONS[name]).parameters, name
    for name, func in FUNCTIONS.items():
        cons = getattr(func, "__ce_constraints__", {})
        if "nan_policy" in cons:
            values = {v for c in cons["nan_policy"] if isinstance(c, Options) for v in c.values}
            assert values <= {"omit", "raise", "pairwise", "listwise"}, (name, values)


def _cases() -> list[tuple[str, str]]:
    return [
        (name, pname)
        for name, func in sorted(FUNCTIONS.items())
        for pname in getattr(func, "__ce_constraints__", {})
    ]


CASES = _cases()


def _invalid_value(accepted: list[Any]) -> Any:
    candidates = [x for c in accepted if c is not None for x in c.invalid_examples()]
    candidates += [object(), "not-a-valid-value", -1, True]
    for value in candidates:
        refused = all((value is not None) if c is None else not c.accepts(value) for c in accepted)
        if refused:
            return value
    raise AssertionError(f"no invalid value found for {accepted}")


def _valid_call(func: Callable[..., Any]) -> dict[str, Any]:
    sig = inspect.signature(func)
    cons = getattr(func, "__ce_constraints__", {})
    kwargs: dict[str, Any] = {}
    for p in sig.parameters.values():
        if p.name in cons:
            first = (
                next(c for c in cons[p.name] if c is not None)
                if any(c is not None for c in cons[p.name])
                else None
            )
            kwargs[p.name] = first.valid_example() if first is not None else None
        elif p.default is inspect.Parameter.empty:
            kwargs[p.name] = pd.DataFrame({"x": [1.0]})  # never reached: validation comes first
    return kwargs


def test_every_public_function_with_options_declares_constraints() -> None:
    undeclared = [
        name
        for name in (
            "aggregate",
            "score",
            "icc",
            "group_reliability",
            "rwg",
            "rwg_j",
            "ad_index",
            "rwg_j_null",
            "random_intercept",
            "ecometric",
            "cronbach_alpha",
            "item_statistics",
            "omega",
            "compare_waves",
            "compare_waves_eb",
            "bootstrap_change",
            "p_adjust",
            "impact_levels",
            "reverse_items",
            "plot.impact_map",
            "export.to_geojson",
        )
        if not getattr(FUNCTIONS[name], "__ce_constraints__", None)
    ]
    assert undeclared == []
    assert len(CASES) >= 80, len(CASES)


def test_every_parameter_of_every_public_function_is_constrained() -> None:
    """Each parameter of each public function has a declared constraint (issue 17, item 3)."""
    undeclared = {
        name: missing
        for name, func in FUNCTIONS.items()
        if (
            missing := [
                p
                for p in inspect.signature(func).parameters
                if p not in getattr(func, "__ce_constraints__", {})
            ]
        )
    }
    assert undeclared == {}


@pytest.mark.parametrize(("name", "param"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_invalid_value_raises_typed_error_naming_the_parameter(name: str, param: str) -> None:
    func = FUNCTIONS[name]
    kwargs = _valid_call(func)
    kwargs[param] = _invalid_value(func.__ce_constraints__[param])  # type: ignore[attr-defined]
    with pytest.raises(ParameterError) as info:
        func(**kwargs)
    assert info.value.argument == param
    assert str(info.value).startswith(f"{param} must be")
    assert isinstance(info.value, ce.errors.DataError) and isinstance(info.value, TypeError)


def test_bool_is_not_an_integer_and_numpy_integers_are() -> None:
    s = pd.DataFrame({"buurt": ["A"] * 5, "ce": [3.0, 4, 4, 5, 4]})
    with pytest.raises(ParameterError, match="min_n"):
        ce.aggregate(s, community="buurt", min_n=True)
    a = ce.aggregate(s, community="buurt", min_n=np.int64(5))
    b = ce.aggregate(s, community="buurt", min_n=5)
    pd.testing.assert_frame_equal(a, b)
    df = pd.DataFrame({"SC1": [1, 2, 3, 4, 5, 2], "SC2": [2, 2, 3, 5, 4, 1]})
    res = ce.cronbach_alpha(df, ci_method="bootstrap", n_boot=np.int64(50), seed=np.int64(1))
    assert res["n"].iloc[0] == 6


# --------------------------------------------------------------------------------------------
# deprecation shims
# --------------------------------------------------------------------------------------------
def _icc_frame() -> pd.DataFrame:
    return pd.DataFrame({"nbh": list("aaabbbccc"), "score": [1.0, 2, 3, 3, 4, 5, 2, 3, 4]})


def test_old_keyword_warns_and_gives_the_same_result() -> None:
    df = _icc_frame()
    new = ce.icc(df, dv="score", community="nbh")
    with pytest.warns(FutureWarning, match=r"group= is deprecated .* use community="):
        old = ce.icc(df, dv="score", group="nbh")
    pd.testing.assert_frame_equal(new, old)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pos = ce.icc(df, "score", "nbh")
    assert [str(w.message) for w in caught] == [
        "icc(): passing 'dv' by position is deprecated and will be removed in 2.0; use dv= instead.",
        "icc(): passing 'group' by position is deprecated and will be removed in 2.0; use "
        "community= instead.",
    ]
    assert all(w.category is FutureWarning for w in caught)
    pd.testing.assert_frame_equal(new, pos)
    with pytest.raises(ParameterError, match="only community="), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ce.icc(df, dv="score", community="nbh", group="nbh")


def test_range_spellings_become_scale_range() -> None:
    x = np.array([1.0, 4.0, np.nan])
    with pytest.warns(FutureWarning, match="scale_range"):
        old = ce.reverse_items(x, 1, 5)
    assert_allclose(old, ce.reverse_items(x, scale_range=(1, 5)))
    df = pd.DataFrame({"SC1": [1, 2, 3, 4, 4], "SC2": [2, 2, 3, 4, 3], "SC3": [4, 4, 3, 2, 2]})
    with pytest.warns(FutureWarning, match="response_range= is deprecated .* scale_range="):
        a = ce.cronbach_alpha(df, keys=["-SC3"], response_range=(1, 5))
    b = ce.cronbach_alpha(df, keys=["-SC3"], scale_range=(1, 5))
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ParameterError, match="give both ends"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ce.score(df, keys={"s": ["SC1", "-SC3"]}, scale_min=1)


def test_method_accepts_the_upper_case_alias() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"nc": np.repeat(list("ABCDEF"), 6), "y": rng.normal(size=36)})
    a = ce.random_intercept(df, dv="y", community="nc", method="REML")
    b = ce.random_intercept(df, dv="y", community="nc", method="reml")
    assert a.variance_components == b.variance_components


def test_nan_policy_raise_names_the_column() -> None:
    df = _icc_frame()
    df.loc[4, "score"] = np.nan
    with pytest.raises(ce.errors.DataError, match="'score' has 1 missing value"):
        ce.icc(df, dv="score", community="nbh", nan_policy="raise")
    assert ce.icc(df, dv="score", community="nbh")["n_missing"].iloc[0] == 1


def test_seed_accepts_a_generator_everywhere() -> None:
    df = pd.DataFrame(
        {
            "community": np.repeat(["A", "B"], 20),
            "wave": np.tile(np.repeat(["baseline", "end_of_cycle"], 10), 2),
            "score": np.random.default_rng(0).normal(3, 0.5, 40),
        }
    )
    a = ce.bootstrap_change(df, dv="score", seed=np.random.default_rng(5), min_n=5, n_boot=200)
    b = ce.bootstrap_change(df, dv="score", seed=np.random.default_rng(5), min_n=5, n_boot=200)
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------------------------
# results contract (local parts)
# --------------------------------------------------------------------------------------------
def test_aggregate_community_named_like_a_result_column_is_refused() -> None:
    s = pd.DataFrame({"n": ["A"] * 5, "ce": [3.0, 4, 4, 5, 4]})
    with pytest.raises(ce.errors.DataError, match="'n'") as info:
        ce.aggregate(s, community="n", min_n=5)
    assert info.value.argument == "community"


def test_aggregate_empty_reason_is_missing_not_empty_text() -> None:
    s = pd.DataFrame({"buurt": ["A"] * 5 + ["B"] * 2, "ce": [3.0, 4, 4, 5, 4, 2, 3]})
    agg = ce.aggregate(s, community="buurt", min_n=5)
    assert pd.isna(agg["reason"].iloc[0])  # missing (None, or NaN in pandas 3's str dtype)
    assert agg["reason"].iloc[1] == "fewer than 5 respondents"


def test_community_labelled_overall_does_not_collide_with_the_overall_row() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame(
        {
            "community": np.repeat(["overall", "B"], 24),
            "wave": np.tile(np.repeat(["baseline", "end_of_cycle"], 12), 2),
            "score": rng.normal(3, 0.5, 48),
        }
    )
    res = ce.compare_waves(df, dv="score", min_n=5)
    assert list(res["level"]) == ["community", "community", "overall"]
    row = res[(res["level"] == "community") & (res["community"] == "overall")]
    assert row["n_before"].iloc[0] == 12


# --------------------------------------------------------------------------------------------
# one reverse-keying rule
# --------------------------------------------------------------------------------------------
def test_alpha_with_an_instrument_reverses_like_score() -> None:
    inst = ce.load_instrument("sampson1997")
    items = inst.scale("social_cohesion").items
    rng = np.random.default_rng(3)
    # the reversed items never use the end codes: the observed range (2..4) is not the scale's
    latent = rng.normal(0, 1, 60)
    data = pd.DataFrame(
        {it: np.clip(np.rint(3 + latent + rng.normal(0, 0.6, 60)), 1, 5) for it in items}
    )
    for it in ("SC3", "SC4"):  # stored reversed, and never at the end codes
        data[it] = np.clip(np.rint(3 - 0.8 * latent + rng.normal(0, 0.4, 60)), 2, 4)
    data.loc[0, "SC1"], data.loc[1, "SC1"] = 1, 5
    scored = ce.score(data, inst, scales=["social_cohesion"])["social_cohesion"]
    alpha = ce.cronbach_alpha(data, items=items, keys=inst)
    # both use the instrument's codes 1..5: SC3' = 6 - SC3, as score() does
    assert_allclose(alpha["mean"].iloc[0], scored.mean(), rtol=1e-12)
    stats = ce.item_statistics(data, items=items, keys=inst).set_index("item")
    assert_allclose(stats.loc["SC3", "mean"], (6 - data["SC3"]).mean(), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# simulate(panel_share=...): a real panel
# --------------------------------------------------------------------------------------------
def test_simulated_panel_reinterviews_baseline_residents() -> None:
    sim = ce.datasets.simulate(60, panel_share=0.5, dirty=False, seed=7)
    plain = ce.datasets.simulate(60, dirty=False, seed=7)
    d = sim.data
    base, end = d[d["meting"] == "nulmeting"], d[d["meting"] == "eindmeting"]
    # the same draws as without a panel: sizes and communities agree, only ids and r change
    assert len(d) == len(plain.data)
    assert (d["buurt"].to_numpy() == plain.data["buurt"].to_numpy()).all()
    n0 = base.groupby("buurt").size()
    n1 = end.groupby("buurt").size()
    expected = np.rint(0.5 * np.minimum(n0, n1)).astype(int)
    shared = end[end["respondent_id"].isin(base["respondent_id"])]
    got = shared.groupby("buurt").size().reindex(expected.index, fill_value=0)
    assert (got == expected).all()
    assert set(shared["respondent_id"]) <= set(base["respondent_id"])
    # a panel member keeps the resident effect: wave-to-wave correlation of a person's mean
    items = list(ce.datasets.EXAMPLE_COLUMNS)
    m0 = base.set_index("respondent_id")[items].mean(axis=1)
    m1 = end.set_index("respondent_id")[items].mean(axis=1)
    pair = pd.concat([m0, m1], axis=1, join="inner")
    r = np.corrcoef(pair.iloc[:, 0], pair.iloc[:, 1])[0, 1]
    # person SD 0.55, item noise 0.75 over 10 items (SC3/SC4 stored reversed): r is about 0.4
    assert r > 0.2, r
    assert sim.truth["panel_share"] == 0.5
    with pytest.raises(ce.errors.DataError, match="panel_share"):
        ce.datasets.simulate(5, panel_share=1.5)


def test_no_hidden_estimates_in_attrs() -> None:
    rng = np.random.default_rng(4)
    df = pd.DataFrame(
        {
            "community": np.tile(np.repeat(list("ABCD"), 8), 2),
            "wave": np.repeat(["baseline", "end_of_cycle"], 32),
            "score": rng.normal(3, 0.5, 64),
        }
    )
    eb = ce.compare_waves_eb(df, dv="score", min_n=5)
    assert eb.attrs == {}
    for col in ("intercept", "tau2", "sigma2"):
        for wave in ("before", "after"):
            assert eb[f"{col}_{wave}"].nunique() == 1  # the wave's model, on every row
    assert ce.compare_waves(df, dv="score", min_n=5).attrs == {}
