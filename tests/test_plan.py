"""collective_efficacy.plan: closed forms against R, statsmodels and published values.

References: tests/fixtures/plan/plan_reference.R (base R power.t.test, pwr::pwr.t.test,
multilevel::ICC1/ICC2, PowerUpR 1.1.0 mdes.cra2/power.cra2).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import TTestIndPower, TTestPower

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from collective_efficacy.plan import (
    detectable_change,
    mdes_cluster,
    residents_for_change,
    residents_for_reliability,
    spearman_brown,
)

FIX = Path(__file__).parent / "fixtures" / "plan"


# --- Spearman-Brown and its inversion ---------------------------------------------------------


def test_spearman_brown_textbook_doubling() -> None:
    # Worked example of every psychometrics text (e.g. Nunnally & Bernstein 1994, ch. 6): a
    # reliability of .60 doubled in length gives 2(.6)/(1 + .6) = .75; inverted, 2 "residents".
    assert float(spearman_brown(2, icc=0.60)) == pytest.approx(0.75, abs=1e-15)
    t = residents_for_reliability(0.75, icc=0.60)
    assert int(t["residents"].iloc[0]) == 2  # exact boundary: not rounded up to 3


def test_exact_boundary_not_rounded_up() -> None:
    # 0.4 (1 - 0.1) / (0.1 (1 - 0.4)) = 6 exactly; in binary floating point it is 6.000...01
    assert math.ceil(0.4 * (1 - 0.1) / (0.1 * (1 - 0.4))) == 7
    t = residents_for_reliability(0.4, icc=0.1)
    assert int(t["residents"].iloc[0]) == 6
    assert float(t["reliability"].iloc[0]) == pytest.approx(0.4, abs=1e-12)
    t5 = float(spearman_brown(5, icc=0.1))
    assert t5 < 0.4  # and 5 does not reach it


def test_icc2_is_spearman_brown_of_icc1_multilevel() -> None:
    # multilevel::ICC1 / ICC2 (Bliese 2000) on balanced data (k = 12): ICC(2) = SB(ICC(1), k)
    ref = pd.read_csv(FIX / "icc_sb.csv").iloc[0]
    got = float(spearman_brown(int(ref["k"]), icc=float(ref["icc1"])))
    assert got == pytest.approx(float(ref["icc2"]), abs=1e-12)
    # inverted: the smallest group size reaching ICC(2) - 1e-9 is k
    t = residents_for_reliability(float(ref["icc2"]) - 1e-9, icc=float(ref["icc1"]))
    assert int(t["residents"].iloc[0]) == int(ref["k"])


@pytest.mark.parametrize("target", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("icc", [0.03, 0.1, 0.164361, 0.3])
def test_residents_smallest_integer(target: float, icc: float) -> None:
    m = int(residents_for_reliability(target, icc=icc)["residents"].iloc[0])
    assert float(spearman_brown(m, icc=icc)) >= target - 1e-12
    if m > 1:
        assert float(spearman_brown(m - 1, icc=icc)) < target


def _ecometric_fit() -> ce.EcometricResult:
    rng = np.random.default_rng(7)
    k, j, n = 25, 12, 6
    comm = np.repeat(np.arange(k), j)
    resp = rng.normal(0, 0.5, k * j) + rng.normal(0, 0.35, k)[comm]
    items = resp[:, None] + rng.normal(0, 0.8, (k * j, n)) + np.linspace(-0.3, 0.3, n)
    data = pd.DataFrame(items, columns=[f"i{i}" for i in range(n)])
    data["community"] = [f"c{c}" for c in comm]
    # the grouping argument is being renamed group= -> community= (CONVENTIONS.md)
    name = "community" if "community" in inspect.signature(ce.ecometric).parameters else "group"
    return ce.ecometric(data, items=[f"i{i}" for i in range(n)], **{name: "community"})


def test_ecometric_surface_matches_fit_reliability() -> None:
    fit = _ecometric_fit()
    t = residents_for_reliability(0.7, fit=fit)
    assert list(t["items"]) == list(range(1, 7))
    vc = fit.variance_components
    for _, row in t.iterrows():
        j, n = int(row["residents"]), int(row["items"])
        lam = lambda jj: vc.tau_beta / (vc.tau_beta + (vc.tau_pi + vc.sigma2 / n) / jj)  # noqa: E731
        assert lam(j) >= 0.7 - 1e-12
        assert j == 1 or lam(j - 1) < 0.7
    # the fit's own (balanced: 12 residents, 6 items) reliability is the formula's lambda(12, 6)
    lam12 = vc.tau_beta / (vc.tau_beta + (vc.tau_pi + vc.sigma2 / 6) / 12)
    assert fit.reliability == pytest.approx(lam12, rel=1e-8)
    assert t["residents"].is_monotonic_decreasing


@pytest.mark.parametrize("bad", [1.0, 1.2, 0.0, -0.1, float("nan"), "0.7", True])
def test_bad_target(bad: object) -> None:
    with pytest.raises(DataError, match="target"):
        residents_for_reliability(bad, icc=0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0.0, -0.05, 1.0])
def test_bad_icc(bad: float) -> None:
    with pytest.raises(DataError, match="icc"):
        residents_for_reliability(0.7, icc=bad)


def _random_intercept_no_between() -> ce.RandomInterceptResult:
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"community": np.repeat([f"c{i}" for i in range(10)], 8),
                         "score": rng.normal(size=80)})  # fmt: skip
    name = (
        "community" if "community" in inspect.signature(ce.random_intercept).parameters else "group"
    )
    fit = ce.random_intercept(data, dv="score", **{name: "community"})
    return fit.model_copy(
        update={"variance_components": fit.variance_components.model_copy(update={"icc": 0.0})}
    )


def test_non_converged_fit_raises() -> None:
    fit = _ecometric_fit()
    stale = fit.model_copy(
        update={"diagnostics": fit.diagnostics.model_copy(update={"converged": False})}
    )
    with pytest.raises(DataError, match="did not converge"):
        residents_for_reliability(0.7, fit=stale)
    ri = _random_intercept_no_between()
    with pytest.raises(DataError, match="no variance between communities"):
        residents_for_reliability(0.7, fit=ri)
    with pytest.raises(DataError, match="exactly one"):
        residents_for_reliability(0.7)
    with pytest.raises(DataError, match="items"):
        residents_for_reliability(0.7, icc=0.1, items=3)


# --- t-test power: R power.t.test / pwr and statsmodels ---------------------------------------


def test_power_and_detectable_change_match_r() -> None:
    ref = pd.read_csv(FIX / "t_power.csv")
    for _, r in ref.iterrows():
        design = "cross-section" if r["type"] == "two.sample" else "panel"
        k = 1 if r["sig"] == 0.05 else 20  # 0.0025 = 0.05 / 20: the Bonferroni/Holm level
        kw = {"sd": r["sd"], "n_communities": k, "design": design}
        if design == "panel":  # power.t.test(type="paired", sd=s): s is the SD of differences,
            kw.update(panel_correlation=0.5)  # = sd * sqrt(2 (1 - r)) = sd at r = 0.5
        t = detectable_change(int(r["n"]), **kw).iloc[0]
        assert t["alpha_per_test"] == pytest.approx(r["sig"], abs=1e-15)
        assert t["change"] == pytest.approx(r["delta80"], rel=1e-8)  # R: uniroot(tol = 1e-12)
        need = residents_for_change(r["delta"], **kw).iloc[0]
        assert int(need["n_per_wave"]) == math.ceil(r["n80"] - 1e-6)
        # power at the R case's n and delta, from residents_for_change's own power function
        from collective_efficacy.plan._power import power_t

        se, df = (t["se"], t["df"])
        assert power_t(r["delta"] / se, df, r["sig"]) == pytest.approx(r["power"], abs=1e-10)
        assert r["pwr_power"] == pytest.approx(r["power"], abs=1e-10)


@pytest.mark.parametrize("n,d,alpha", [(20, 0.5, 0.05), (64, 0.5, 0.05), (122, 0.5, 0.0025)])
def test_power_matches_statsmodels(n: int, d: float, alpha: float) -> None:
    from collective_efficacy.plan._power import power_t

    sm = TTestIndPower().power(effect_size=d, nobs1=n, alpha=alpha, ratio=1.0)
    assert power_t(d / math.sqrt(2 / n), 2 * n - 2, alpha) == pytest.approx(sm, abs=1e-10)
    need = TTestIndPower().solve_power(effect_size=d, alpha=alpha, power=0.8, ratio=1.0)
    got = residents_for_change(d, sd=1.0, n_communities=round(0.05 / alpha)).iloc[0]
    assert int(got["n_per_wave"]) == math.ceil(need - 1e-6)
    paired = TTestPower().power(effect_size=d, nobs=n, alpha=alpha)
    assert power_t(d * math.sqrt(n), n - 1, alpha) == pytest.approx(paired, abs=1e-10)


def test_residents_for_change_is_inverse_of_detectable_change() -> None:
    kw = {"sd": 0.6, "icc": 0.16, "n_communities": 30}
    t = residents_for_change(0.25, **kw)
    for _, row in t.iterrows():
        n = int(row["n_per_wave"])
        level = detectable_change(n, **kw).set_index("level")
        prev = detectable_change(n - 1, **kw).set_index("level")
        assert level.loc[row["level"], "change"] <= 0.25 + 1e-9
        assert prev.loc[row["level"], "change"] > 0.25
        assert row["power_reached"] >= 0.8 - 1e-10


def test_overall_design_effect_and_cluster_formula_agree() -> None:
    # overall change without persistent community effects = CRA2 with J = 2K, P = 1/2
    t = detectable_change(25, sd=0.6, icc=0.1, n_communities=20, method="bloom").iloc[1]
    assert t["design_effect"] == pytest.approx(1 + 24 * 0.1)
    total_sd = 0.6 / math.sqrt(1 - 0.1)
    c = mdes_cluster(40, 25, icc=0.1).iloc[0]
    assert t["se"] == pytest.approx(c["se"] * total_sd, rel=1e-12)
    assert t["se"] ** 2 == pytest.approx(2 * 0.36 / 0.9 * (1 + 24 * 0.1) / (20 * 25), rel=1e-12)


def test_mdes_cluster_matches_powerupr_and_bloom_multipliers() -> None:
    from collective_efficacy.plan._power import power_t

    ref = pd.read_csv(FIX / "cra2_mdes.csv")  # PowerUpR 1.1.0 mdes.cra2 / power.cra2
    for _, r in ref.iterrows():
        tails = 2 if r["two_tailed"] else 1
        got = mdes_cluster(
            int(r["J"]), r["n"], icc=r["rho2"], share=r["P"], r2_community=r["R22"],
            r2_resident=r["R12"], n_covariates=int(r["g2"]), tails=tails,
        ).iloc[0]  # fmt: skip
        assert got["df"] == r["df"]
        assert got["mdes"] == pytest.approx(r["mdes"], rel=1e-10)
        assert got["power_at_mdes"] == pytest.approx(r["power_at_mdes"], abs=1e-10)
        assert power_t(0.25 / got["se"], got["df"], 0.05, tails) == pytest.approx(
            r["power_at_025"], abs=1e-10
        )
    # documented cross-check of ?PowerUpR::cra2: mdes.cra2(rho2=.17, n=15, J=20) = .629
    assert round(float(mdes_cluster(20, 15, icc=0.17)["mdes"].iloc[0]), 3) == 0.629
    # Bloom (1995), Table 1: large-sample multipliers 2.80 (two-tailed) and 2.49 (one-tailed)
    assert round(float(mdes_cluster(100_000, 10, icc=0.1)["multiplier"].iloc[0]), 2) == 2.80
    assert (
        round(float(mdes_cluster(100_000, 10, icc=0.1, tails=1)["multiplier"].iloc[0]), 2) == 2.49
    )


def test_change_model_fit_gives_variance_of_change() -> None:
    fit = _change_fit()
    vc = fit.variance_components
    t = detectable_change(20, fit=fit).set_index("level")
    assert t.loc["overall", "se"] ** 2 == pytest.approx((vc.var_change + 2 * vc.sigma2 / 20) / 20)
    assert t.loc["community", "sd"] == pytest.approx(math.sqrt(vc.sigma2))
    assert int(t.loc["community", "n_communities"]) == 20
    # more residents cannot beat the variance of change: a note instead of a number
    far = residents_for_change(0.01, fit=fit).set_index("level")
    assert pd.isna(far.loc["overall", "n_per_wave"]) and "communities" in far.loc["overall", "note"]


def _change_fit() -> ce.ChangeModel:
    rng = np.random.default_rng(3)
    k, m = 20, 20
    codes = np.repeat(np.arange(k), m)
    u = rng.normal(size=(k, 2)) * [0.3, 0.15]
    y = np.concatenate([3 + u[codes, 0] + rng.normal(0, 0.6, k * m),
                        3.2 + u[codes, 0] + u[codes, 1] + rng.normal(0, 0.6, k * m)])  # fmt: skip
    data = pd.DataFrame({"buurt": np.tile(codes, 2).astype(str),
                         "wave": np.repeat(["baseline", "end_of_cycle"], k * m), "score": y})  # fmt: skip
    return ce.change_model(data, dv="score", community="buurt")


def test_change_bad_input() -> None:
    with pytest.raises(DataError, match="sd"):
        detectable_change(20, icc=0.1)
    with pytest.raises(DataError, match="icc"):
        detectable_change(20, sd=1.0, icc=-0.1)
    with pytest.raises(DataError, match="panel_correlation"):
        detectable_change(20, sd=1.0, design="panel")
    with pytest.raises(DataError, match="n_per_wave"):
        detectable_change(1, sd=1.0)
    with pytest.raises(DataError, match="adjust"):
        detectable_change(20, sd=1.0, adjust="BH")
    fit = _change_fit()
    with pytest.raises(DataError, match="did not converge"):
        detectable_change(20, fit=fit.model_copy(update={"converged": False}))


def test_plot_reliability_draws_the_table(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from collective_efficacy.plan import plot_reliability

    fit = _ecometric_fit()
    table = residents_for_reliability(0.7, fit=fit, items=[2, 6])
    fig = plot_reliability(table, path=tmp_path / "rel.png")
    ax = fig.axes[0]
    # each curve passes through its marked point: (residents, reliability of the table)
    points = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    for ln, (_, row) in zip(points, table.iterrows(), strict=True):
        assert ln.get_xdata()[0] == row["residents"]
        assert ln.get_ydata()[0] == pytest.approx(row["reliability"], rel=1e-12)
    assert (tmp_path / "rel.png").stat().st_size > 0
    with pytest.raises(DataError, match="table"):
        plot_reliability(pd.DataFrame({"x": [1]}))
