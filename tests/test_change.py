"""Bootstrap, properties (hypothesis) and bad input of collective_efficacy.change."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

import collective_efficacy as ce
from collective_efficacy.change._bootstrap import bootstrap_interval, bootstrap_means
from collective_efficacy.errors import ConvergenceWarning, DataError

FIX = Path(__file__).parent / "fixtures" / "change"


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return pd.read_csv(FIX / "survey.csv")


def _diff_stat(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _waves(df: pd.DataFrame, cm: str) -> tuple[np.ndarray, np.ndarray]:
    d = df[(df["community"] == cm)].dropna(subset=["score"])
    return (
        d.loc[d["wave"] == "end", "score"].to_numpy(),
        d.loc[d["wave"] == "baseline", "score"].to_numpy(),
    )


# ---- bootstrap ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_agrees_with_scipy_within_mc_error(survey, method):
    # 20,000 resamples each; the MC SD of a 2.5 % quantile is about 0.02 bootstrap SE, the
    # difference of two independent runs about 0.03 SE: tolerance 0.15 SE (5 MC SDs).
    res = ce.bootstrap_change(
        survey, dv="score", n_boot=20_000, seed=11, method=method, after="end"
    )
    res = res.set_index("community")
    for cm in ("N13", "N18", "N22"):
        a, b = _waves(survey, cm)
        ref = stats.bootstrap((a, b), _diff_stat, n_resamples=20_000, method=method,
                              vectorized=True, rng=np.random.default_rng(5))  # fmt: skip
        r = res.loc[cm]
        assert_allclose(r["diff"], a.mean() - b.mean(), rtol=1e-12)
        assert_allclose(r["boot_se"], ref.standard_error, rtol=0.05)
        tol = 0.15 * ref.standard_error
        assert abs(r["ci_low"] - ref.confidence_interval.low) < tol
        assert abs(r["ci_high"] - ref.confidence_interval.high) < tol


@pytest.mark.parametrize("method", ["percentile", "BCa"])
def test_interval_equals_scipy_on_the_same_resamples(survey, method):
    """Given the same bootstrap distribution, our percentile/BCa limits are SciPy's (1e-12)."""
    a, b = _waves(survey, "N17")
    values = np.concatenate([b, a])
    codes = np.zeros(values.size, dtype=np.int64)
    after = np.r_[np.zeros(b.size, bool), np.ones(a.size, bool)]
    boot = np.zeros((1, 3000), dtype=np.float32)  # centred replicates, float32
    inc = np.ones(1, bool)
    bootstrap_means(values[~after], codes[~after], 1, n_boot=3000, entropy=3, stream=0,
                    out=boot, sign=-1.0, include=inc, accumulate=False)  # fmt: skip
    bootstrap_means(values[after], codes[after], 1, n_boot=3000, entropy=3, stream=1,
                    out=boot, sign=1.0, include=inc)  # fmt: skip
    theta = a.mean() - b.mean()
    dist = boot[0].astype(np.float64) + theta
    u = np.r_[a - a.mean(), -(b - b.mean())]
    nn = np.r_[np.full(a.size, a.size), np.full(b.size, b.size)].astype(float)
    accel = np.array([np.sum(u**3 / nn**3) / (6 * np.sum(u**2 / nn**2) ** 1.5)])
    lo, hi = bootstrap_interval(boot.copy(), ci=0.95, method=method.lower(), accel=accel)

    class Prev:
        bootstrap_distribution = dist

    ref = stats.bootstrap((a, b), _diff_stat, n_resamples=0, bootstrap_result=Prev(),
                          method=method, vectorized=True)  # fmt: skip
    assert_allclose([lo[0] + theta, hi[0] + theta], ref.confidence_interval, rtol=1e-12)
    # and the float32 replicates are the float64 ones to ~1e-7 of the bootstrap SE
    sd = float(np.std(dist))
    assert abs(float(np.mean(dist)) - theta) < 0.1 * sd


def test_bootstrap_resample_distribution_is_the_ordinary_bootstrap():
    # The count-matrix resampling has the exact bootstrap moments: mean of the resampled means
    # = sample mean, variance = (n-1)/n * s^2 / n. 40,000 resamples: MC tolerance 4 SDs.
    rng = np.random.default_rng(0)
    y = rng.normal(size=7)
    boot = np.zeros((1, 40_000), dtype=np.float32)  # centred: mean* - mean
    bootstrap_means(y, np.zeros(7, np.int64), 1, n_boot=40_000, entropy=1, stream=0, out=boot,
                    sign=1.0, include=np.ones(1, bool))  # fmt: skip
    v = np.var(y) / 7
    assert abs(boot.mean(dtype=np.float64)) < 4 * np.sqrt(v / 40_000)
    assert abs(boot.var(dtype=np.float64) / v - 1) < 4 * np.sqrt(2 / 40_000)


def test_bootstrap_large_community_own_stream_in_blocks():
    # n = 1,500 > 512: own random stream, resamples drawn in blocks (2e6 // 1500 = 1333 per
    # block, 3 blocks for 4,000 resamples); moments as above, MC tolerance 4 SDs
    rng = np.random.default_rng(2)
    y = rng.gamma(2.0, size=1500)
    boot = np.zeros((1, 4000), dtype=np.float32)
    bootstrap_means(y, np.zeros(y.size, np.int64), 1, n_boot=4000, entropy=5, stream=1,
                    out=boot, sign=1.0, include=np.ones(1, bool))  # fmt: skip
    v = np.var(y) / y.size
    assert abs(boot.mean(dtype=np.float64)) < 4 * np.sqrt(v / 4000)
    assert abs(boot.var(dtype=np.float64) / v - 1) < 4 * np.sqrt(2 / 4000)
    assert len(np.unique(boot)) > 3900  # the blocks are not copies of each other


def test_bootstrap_seeded_and_paired(survey):
    r1 = ce.bootstrap_change(survey, dv="score", seed=3, n_boot=500, after="end")
    r2 = ce.bootstrap_change(survey, dv="score", seed=3, n_boot=500, after="end")
    r3 = ce.bootstrap_change(survey, dv="score", seed=4, n_boot=500, after="end")
    pd.testing.assert_frame_equal(r1, r2)
    ok = ~r1["suppressed"] & r1["ci_low"].notna()
    assert (r1.loc[ok, "ci_low"] != r3.loc[ok, "ci_low"]).any()
    rp = ce.bootstrap_change(
        survey, dv="score", paired_on="respondent", seed=3, method="bca", after="end"
    )
    cw = ce.compare_waves(survey, dv="score", paired_on="respondent", after="end")
    cw = cw[cw["level"] == "community"].reset_index(drop=True)
    assert (rp["suppressed"] == cw["suppressed"]).all()
    assert_allclose(rp["diff"], cw["diff"], rtol=1e-12, equal_nan=True)
    inside = rp["diff"].between(rp["ci_low"], rp["ci_high"])
    assert inside[rp["ci_low"].notna()].all()
    z = rp.set_index("community").loc["N28"]  # zero variance: degenerate distribution
    assert "degenerate" in z["reason"] or z["suppressed"]


def test_bootstrap_community_alone_equals_full(survey):
    full = ce.bootstrap_change(survey, dv="score", seed=9, n_boot=400, method="bca", after="end")
    full = full.set_index("community")
    for cm in ("N05", "N13", "N29"):
        alone = ce.bootstrap_change(survey[survey["community"] == cm], dv="score", seed=9,
                                    n_boot=400, method="bca", after="end").set_index("community")  # fmt: skip
        pd.testing.assert_series_equal(alone.loc[cm], full.loc[cm])


def test_bootstrap_means_follow_the_documented_random_scheme():
    # module docstring: stream matrix R of 32-bit integers from SeedSequence(seed, (stream,)),
    # cell of size n <= 512 uses the indices floor(n R_jb / 2^32), j < n; 5,000 resamples run in
    # passes of 2,048. Reference: the same draws by integer arithmetic and a plain gather.
    rng = np.random.default_rng(4)
    sizes = [3, 7, 7, 40]
    y = rng.normal(size=sum(sizes))
    codes = np.repeat(np.arange(4), sizes)
    n_boot = 5000
    boot = np.zeros((4, n_boot), dtype=np.float32)
    bootstrap_means(y, codes, 4, n_boot=n_boot, entropy=21, stream=1, out=boot, sign=-1.0,
                    include=np.ones(4, bool), accumulate=False)  # fmt: skip
    gen = np.random.default_rng(np.random.SeedSequence(21, spawn_key=(1,)))
    r = gen.integers(0, 1 << 32, size=(max(sizes), n_boot), dtype=np.uint32).astype(np.uint64)
    for g, n in enumerate(sizes):
        yg = y[codes == g]
        idx = ((r[:n] * np.uint64(n)) >> np.uint64(32)).astype(np.int64)  # (n, n_boot)
        ref = -(yg[idx].mean(axis=0) - yg.mean())
        assert_allclose(boot[g], ref, atol=1e-6 * yg.std())


def test_bootstrap_alone_equals_full_across_passes_and_large_cells():
    # 2,500 resamples = two passes of 2,048 for the shared sizes; 600 > 512 uses its own stream
    rng = np.random.default_rng(12)
    parts = []
    for cm, (nb, na) in {"A": (3, 4), "B": (3, 4), "C": (8, 3), "D": (600, 520)}.items():
        for wave, n in (("baseline", nb), ("end", na)):
            parts.append(pd.DataFrame({"community": cm, "wave": wave,
                                       "score": rng.normal(3.0, 0.7, size=n).round(1)}))  # fmt: skip
    df = pd.concat(parts, ignore_index=True)
    full = ce.bootstrap_change(
        df, dv="score", seed=5, n_boot=2500, method="bca", min_n=3, after="end"
    )
    full = full.set_index("community")
    assert full["ci_low"].notna().all()
    for cm in "ABCD":
        alone = ce.bootstrap_change(df[df["community"] == cm], dv="score", seed=5, n_boot=2500,
                                    method="bca", min_n=3, after="end").set_index("community")  # fmt: skip
        pd.testing.assert_series_equal(alone.loc[cm], full.loc[cm], check_exact=True)


def test_bca_community_alone_equals_full_exactly(survey):
    # BCa counts replicates equal to the estimate (a jump), so its replicates are computed on an
    # exact grid: bit-identical limits for every community, not just close ones
    full = ce.bootstrap_change(survey, dv="score", seed=9, n_boot=2000, method="bca", after="end")
    full = full.set_index("community")
    cols = ["diff", "ci_low", "ci_high", "boot_se", "boot_bias"]
    for cm in full.index:
        alone = ce.bootstrap_change(survey[survey["community"] == cm], dv="score", seed=9,
                                    n_boot=2000, method="bca", after="end").set_index("community")  # fmt: skip
        pd.testing.assert_series_equal(alone.loc[cm, cols], full.loc[cm, cols], check_exact=True)


def test_bca_counts_by_bisection_equal_direct_counts():
    from collective_efficacy.change._bootstrap import _count_below_zero

    rng = np.random.default_rng(8)
    rows = rng.integers(-3, 4, size=(60, 257)).astype(np.float32)  # many exact zeros (ties)
    rows[0] = 0.0
    rows[1] = -1.0
    rows[2] = 1.0
    rows.sort(axis=1)
    assert_allclose(_count_below_zero(rows, strict=True), np.count_nonzero(rows < 0, axis=1))
    assert_allclose(_count_below_zero(rows, strict=False), np.count_nonzero(rows <= 0, axis=1))


def test_bootstrap_progress_bar(survey, capsys):
    pytest.importorskip("tqdm")
    quiet = ce.bootstrap_change(survey, dv="score", seed=2, n_boot=300, after="end")
    assert capsys.readouterr() == ("", "")  # nothing printed without progress
    shown = ce.bootstrap_change(survey, dv="score", seed=2, n_boot=300, progress=True, after="end")
    pd.testing.assert_frame_equal(quiet, shown)
    assert "bootstrap" in capsys.readouterr().err
    paired = ce.bootstrap_change(survey, dv="score", paired_on="respondent", seed=2, n_boot=300,
                                 progress=True, after="end")  # fmt: skip
    assert paired["ci_low"].notna().any()
    assert "bootstrap" in capsys.readouterr().err


# ---- properties ---------------------------------------------------------------------------------

SCORES = st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.0, 3.25, 3.5, 4.0, 4.5, 5.0])


@st.composite
def two_wave_frames(draw: st.DrawFn) -> pd.DataFrame:
    n_comm = draw(st.integers(1, 4))
    rows = []
    rid = 0
    for c in range(n_comm):
        n_panel = draw(st.integers(0, 6))
        n_b = draw(st.integers(0, 5))
        n_a = draw(st.integers(0, 5))
        for k in range(n_panel):
            for w in ("baseline", "end"):
                rows.append((f"r{rid + k}", f"C{c}", w, draw(SCORES)))
        rid += n_panel
        for w, m in (("baseline", n_b), ("end", n_a)):
            for _ in range(m):
                rows.append((f"r{rid}", f"C{c}", w, draw(SCORES)))
                rid += 1
    rows.append((f"r{rid}", "C0", "baseline", draw(SCORES)))  # both waves present somewhere
    rows.append((f"r{rid + 1}", "C0", "end", draw(SCORES)))
    return pd.DataFrame(rows, columns=["respondent", "community", "wave", "score"])


STATS = ["diff", "t", "g", "ci_low", "ci_high", "g_ci_low", "g_ci_high"]
PROP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROP
@given(df=two_wave_frames(), paired=st.booleans())
@pytest.mark.filterwarnings("ignore::collective_efficacy.errors.ConvergenceWarning")
def test_swapping_waves_flips_signs_keeps_p(df, paired):
    on = "respondent" if paired else None
    fw = ce.compare_waves(df, dv="score", paired_on=on, min_n=2, after="end")
    bw = ce.compare_waves(df, dv="score", paired_on=on, min_n=2, before="end", after="baseline")
    assert (fw["suppressed"] == bw["suppressed"]).all()
    # overall REML row: a reparametrisation, equal up to the optimiser (1e-6); compared when
    # both fits are clean (tiny random data sets can sit on the tau2 = 0 boundary)
    keep = (fw["reason"].isna() & bw["reason"].isna()) | (fw["level"] == "community")
    fw, bw = fw[keep], bw[keep]
    f, b = fw[STATS].to_numpy(float), bw[STATS].to_numpy(float)
    assert_allclose(f[:, :3], -b[:, :3], rtol=1e-6, atol=1e-6, equal_nan=True)
    assert_allclose(f[:, 3], -b[:, 4], rtol=1e-6, atol=1e-6, equal_nan=True)  # lo = -hi
    assert_allclose(f[:, 5], -b[:, 6], rtol=1e-6, atol=1e-6, equal_nan=True)
    assert_allclose(fw["p"], bw["p"], rtol=1e-5, atol=1e-9, equal_nan=True)
    assert_allclose(fw["p_adjusted"], bw["p_adjusted"], rtol=1e-5, atol=1e-9, equal_nan=True)
    if paired:
        for name in ("d_z", "d_av", "d_av_lakens", "d_rm"):
            assert_allclose(fw[name], -bw[name], atol=1e-8, equal_nan=True)
    dirs = {"increase": "decrease", "decrease": "increase", "no change": "no change"}
    flipped = [None if pd.isna(d) else dirs[d] for d in fw["direction"]]
    assert flipped == [None if pd.isna(d) else d for d in bw["direction"]]


@PROP
@given(df=two_wave_frames(), paired=st.booleans())
@pytest.mark.filterwarnings("ignore::collective_efficacy.errors.ConvergenceWarning")
def test_community_alone_equals_full_and_none_disappear(df, paired):
    on = "respondent" if paired else None
    full = ce.compare_waves(df, dv="score", paired_on=on, min_n=2, after="end")
    comm = full[full["level"] == "community"]
    assert sorted(comm["community"]) == sorted(df["community"].unique())
    assert len(full) == df["community"].nunique() + 1
    cols = [c for c in comm.columns if c not in ("p_adjusted", "level")]
    for cm in df["community"].unique():
        alone = ce.compare_waves(
            df[df["community"] == cm], dv="score", paired_on=on, min_n=2, after="end"
        )
        a = alone[alone["level"] == "community"][cols].reset_index(drop=True)
        f = comm[comm["community"] == cm][cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, f, check_exact=False, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(df=two_wave_frames())
def test_paired_change_swap(df):
    d = df.pivot_table(index="respondent", columns="wave", values="score").dropna()
    if len(d) < 2:
        return
    f = ce.paired_change(d["baseline"], d["end"]).set_index("measure")
    b = ce.paired_change(d["end"], d["baseline"]).set_index("measure")
    assert_allclose(f["estimate"], -b["estimate"], atol=1e-7, equal_nan=True)
    assert_allclose(f["ci_low"], -b["ci_high"], atol=1e-7, equal_nan=True)
    assert_allclose(f["p"], b["p"], rtol=1e-9, equal_nan=True)


def test_eb_swap(survey):
    f = ce.compare_waves_eb(survey, dv="score", after="end")
    b = ce.compare_waves_eb(survey, dv="score", before="end", after="baseline")
    assert_allclose(f["diff"], -b["diff"], atol=1e-8, equal_nan=True)
    assert_allclose(f["p_improved"], 1 - b["p_improved"], atol=1e-8, equal_nan=True)
    assert (f["suppressed"] == b["suppressed"]).all()
    assert len(f) == survey["community"].nunique()


# ---- bad input ----------------------------------------------------------------------------------


def _small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "respondent": [f"r{i}" for i in range(12)],
            "community": ["A"] * 12,
            "wave": ["baseline"] * 6 + ["end"] * 6,
            "score": [3, 3.2, 2.8, 3.1, 2.9, 3.0, 3.6, 3.4, 3.9, 3.5, 3.7, 3.3],
        },
        index=[f"row{i}" for i in range(12)],
    )


def test_unknown_wave_label_names_rows_and_values():
    df = _small()
    df.loc["row3", "wave"] = "midterm"
    with pytest.raises(DataError, match=r"row3.*neither before='baseline' nor after='end'.*"
                       r"midterm"):  # fmt: skip
        ce.compare_waves(df, dv="score", after="end")
    with pytest.raises(DataError, match="neither before='baseline' nor after='post'"):
        ce.compare_waves(_small(), dv="score", after="post")
    # a wave that is absent everywhere (and no other label) is not an error: every community
    # is kept, suppressed, with the reason
    only = ce.compare_waves(_small().iloc[:6], dv="score", min_n=5, after="end")
    assert only["suppressed"].iloc[0] and np.isnan(only["diff"]).all()
    assert only["reason"].iloc[0] == "no respondents in the after wave"
    assert "not estimable" in only["reason"].iloc[1]
    with pytest.raises(DataError, match="different wave labels"):
        ce.compare_waves(_small(), dv="score", before="end", after="end")
    df = _small()
    df.loc["row1", "wave"] = None
    with pytest.raises(DataError, match="missing label.*row1"):
        ce.bootstrap_change(df, dv="score", after="end")


def test_missing_wave_small_n_and_zero_variance_are_rows_with_reason():
    df = _small()
    extra = pd.DataFrame({"respondent": ["x1", "x2", "y1", "y2", "y3", "y4", "y5", "y6"],
                          "community": ["B"] * 2 + ["Z"] * 6,
                          "wave": ["baseline"] * 2 + ["baseline"] * 3 + ["end"] * 3,
                          "score": [1.0, 2.0] + [3.0] * 6})  # fmt: skip
    df = pd.concat([df, extra])
    res = ce.compare_waves(df, dv="score", min_n=3, after="end").set_index("community")
    assert res.loc["B", "suppressed"] and res.loc["B", "n_after"] == 0
    assert res.loc["B", "reason"] == "no respondents in the after wave; n_before below min_n=3"
    assert np.isnan(res.loc["B", ["mean_before", "diff", "t", "p", "g"]].astype(float)).all()
    assert not res.loc["Z", "suppressed"] and "zero variance" in res.loc["Z", "reason"]
    assert res.loc["Z", "diff"] == 0 and np.isnan(res.loc["Z", "t"])
    one = ce.compare_waves(
        df.iloc[:7], dv="score", community=None, min_n=5, after="end"
    )  # n_after = 1
    assert one["suppressed"].iloc[0] and "n_after below min_n=5" in one["reason"].iloc[0]
    eb = ce.compare_waves_eb(df, dv="score", min_n=3, after="end").set_index("community")
    assert eb.loc["B", "suppressed"] and np.isnan(eb.loc["B", "p_improved"])


def test_all_missing_scores_keep_the_community():
    df = _small()
    df = pd.concat([df, pd.DataFrame({"respondent": ["m1", "m2"], "community": ["M", "M"],
                                      "wave": ["baseline", "end"], "score": [np.nan, np.nan]})])  # fmt: skip
    res = ce.compare_waves(df, dv="score", after="end").set_index("community")
    assert res.loc["M", "n_missing"] == 2 and res.loc["M", "suppressed"]
    assert res.loc["overall", "n_missing"] == 2
    with pytest.raises(DataError, match="missing score"):
        ce.compare_waves(df, dv="score", nan_policy="raise", after="end")


def test_duplicated_paired_ids():
    df = _small()
    df.loc["row7", "respondent"] = "r6"
    with pytest.raises(DataError, match=r"'r6'.*more than once within a wave.*row6.*row7"):
        ce.compare_waves(df, dv="score", paired_on="respondent", after="end")
    df = _small()
    df.loc["row2", "respondent"] = None
    with pytest.raises(DataError, match="missing id"):
        ce.bootstrap_change(df, dv="score", paired_on="respondent", after="end")


def test_parameter_validation():
    df = _small()
    with pytest.raises(DataError, match="not found"):
        ce.compare_waves(df, dv="nope", after="end")
    with pytest.raises(DataError, match="min_n"):
        ce.compare_waves(df, dv="score", min_n=1, after="end")
    with pytest.raises(DataError, match="ci must be"):
        ce.compare_waves(df, dv="score", ci=95, after="end")
    with pytest.raises(DataError, match="p_adjust"):
        ce.compare_waves(df, dv="score", p_adjust="fdr_bh", after="end")
    with pytest.raises(DataError, match="n_boot"):
        ce.bootstrap_change(df, dv="score", n_boot=10, after="end")
    with pytest.raises(DataError, match="seed"):
        ce.bootstrap_change(df, dv="score", seed=1.5, after="end")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        ce.p_adjust([0.1, 1.2])
    bad = df.assign(score=df["score"].astype(object))
    bad.loc["row4", "score"] = "high"
    with pytest.raises(DataError, match=r"'score'.*row4.*high"):
        ce.compare_waves(bad, dv="score", after="end")
    with pytest.raises(DataError, match="community column"):
        ce.compare_waves_eb(df, dv="score", community=None, after="end")  # type: ignore[arg-type]


def test_paired_change_bad_input_and_missing():
    with pytest.raises(DataError, match="same length"):
        ce.paired_change([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match="at least 2 complete pairs"):
        ce.paired_change([1.0, np.nan], [2.0, 3.0])
    res = ce.paired_change([1, 2, np.nan, 4, 5], [2, 2.5, 3, 5.5, 5.1])
    assert (res["n_dropped"] == 1).all()
    assert res.set_index("measure").loc["mean_difference", "n"] == 4
    z = ce.paired_change([1, 2, 3], [2, 3, 4]).set_index("measure")  # constant difference
    assert np.isnan(z.loc["mean_difference", "statistic"]) and z.loc["d_z", "note"]
    with pytest.raises(DataError, match="one-dimensional"):
        ce.paired_change(np.ones((3, 2)), np.ones((3, 2)))


def test_reliable_change_api():
    rc = ce.reliable_change([10, 12, np.nan, 11], [20, 12, 14, 0], reliability=0.8,
                            sd_before=7.5, higher_is_better=False)  # fmt: skip
    assert rc.category == ["declined", "no reliable change", None, "improved"]
    assert rc.n == 3 and rc.n_missing == 1 and rc.share_improved == pytest.approx(1 / 3)
    again = ce.ReliableChange.model_validate_json(rc.model_dump_json())
    assert again == rc
    frame = rc.to_frame()
    assert np.isnan(frame.loc[2, "rci"]) and frame.loc[3, "category"] == "improved"
    with pytest.raises(DataError, match="reliability"):
        ce.reliable_change([1, 2], [2, 3], reliability=1.0)
    with pytest.raises(DataError, match="sd_before"):
        ce.reliable_change([1, 1], [2, 3], reliability=0.7)


def test_caller_frame_not_modified(survey):
    before = survey.copy(deep=True)
    ce.compare_waves(survey, dv="score", paired_on="respondent", after="end")
    ce.compare_waves(survey, dv="score", after="end")
    ce.compare_waves_eb(survey, dv="score", after="end")
    ce.bootstrap_change(survey, dv="score", n_boot=200, seed=1, after="end")
    pd.testing.assert_frame_equal(survey, before)


def test_convergence_warning_class_is_public():
    assert issubclass(ConvergenceWarning, UserWarning)


def test_results_are_json_ready(survey):
    res = ce.compare_waves(survey, dv="score", paired_on="respondent", after="end")
    back = pd.DataFrame(json.loads(res.to_json(orient="records")))
    assert list(back.columns) == list(res.columns) and len(back) == len(res)


def test_paired_d_z_interval_with_one_df_in_both_directions():
    # hypothesis-found: with two pairs (df = 1, t = 9) the interval of d_z had no limits when
    # the waves were swapped (scipy's nctdtr in its left tail); now solved on |t| and reflected
    a, b = pd.Series([1.0, 2.0]), pd.Series([2.0, 3.25])
    f = ce.paired_change(a, b).set_index("measure").loc["d_z"]
    r = ce.paired_change(b, a).set_index("measure").loc["d_z"]
    assert np.isfinite([f["ci_low"], f["ci_high"]]).all()
    assert_allclose([f["ci_low"], f["ci_high"]], [-r["ci_high"], -r["ci_low"]], rtol=1e-12)


def test_nct_ci_newton_agrees_with_the_bracketing_solver():
    # the Newton solve (analytic derivative) and the safeguarded regula falsi find the same root
    # of the same monotone function: equal to 1e-10 (relative, or absolute below 1) on the
    # community sizes of real surveys and on the edges (df 2-3, t up to 12 in size, t = 0;
    # beyond that, with df near 2, scipy's nctdtr returns NaN at some negative ncp and the
    # bracketing solver can stop on a wrong point: left to it, as before)
    from scipy import special

    from collective_efficacy.change._stats import _solve_ncp, nct_ci

    rng = np.random.default_rng(7)
    t = np.concatenate([rng.normal(0.5, 1.5, 3000), rng.uniform(-12, 12, 200), [0.0, 1e-9]])
    df = np.concatenate([rng.integers(18, 400, 3000), rng.uniform(2, 3, 200), [10, 10]])
    for ci in (0.90, 0.95, 0.99):
        lo, hi = nct_ci(t, df, ci)
        a = 1 - ci
        ta = np.abs(t)
        lo_b = _solve_ncp(ta, df, np.full(t.size, 1 - a / 2))
        hi_b = _solve_ncp(ta, df, np.full(t.size, a / 2))
        ref_lo, ref_hi = np.where(t < 0, -hi_b, lo_b), np.where(t < 0, -lo_b, hi_b)
        both = np.isfinite(ref_lo) & np.isfinite(ref_hi)
        assert both.mean() > 0.99
        assert_allclose(lo[both], ref_lo[both], rtol=1e-10, atol=1e-10)
        assert_allclose(hi[both], ref_hi[both], rtol=1e-10, atol=1e-10)
        # the definition (scipy's noncentral-t CDF) holds at every limit found, also where the
        # bracketing solver found none: P(T <= |t|) = 1 - a/2 at the lower, a/2 at the upper
        low_abs, high_abs = np.where(t < 0, -hi, lo), np.where(t < 0, -lo, hi)
        for lim, p in ((low_abs, 1 - a / 2), (high_abs, a / 2)):
            found = np.isfinite(lim)
            assert found.mean() > 0.99
            assert_allclose(special.nctdtr(df[found], lim[found], ta[found]), p, atol=1e-11)


def test_nct_ci_cornish_fisher_start_and_one_step_rule():
    # the start of the Newton solve (a Cornish-Fisher quantile of t*chi_nu/sqrt(nu) - Z) is
    # within 1e-8 of the root for most communities of real surveys (1e-4 at worst), so one
    # evaluation of scipy's nctdtr per limit mostly suffices; the limits found are those of the bracketing solver
    # (rtol 1e-12) and satisfy the definition (scipy's CDF, atol 1e-12)
    from scipy import special

    from collective_efficacy.change._stats import _ncp_start, _newton_ncp, _solve_ncp

    rng = np.random.default_rng(11)
    t = np.abs(rng.normal(0.3, 1.5, 4000))
    df = rng.integers(18, 400, 4000).astype(float)
    p = np.repeat([0.975, 0.025], 2000)
    root, ok = _newton_ncp(t, df, p)
    assert ok.all()
    assert_allclose(_solve_ncp(t, df, p), root, rtol=1e-12, atol=1e-12)
    assert_allclose(special.nctdtr(df, root, t), p, atol=1e-12)
    err = np.abs(_ncp_start(t, df, p) - root)
    assert np.median(err) < 1e-8
    assert err.max() < 1e-4


def test_nct_ci_tiny_df_huge_t_satisfies_the_definition():
    # df 1.05-2.5 with |t| up to 60 (two or three respondents, no variation): the bracketing
    # solver used to stop on a wrong point or find nothing there; every limit is now found, in
    # order, and satisfies scipy's noncentral-t CDF (atol 1e-10) wherever that CDF is defined
    # (scipy's nctdtr is NaN at some negative ncp with df < 3)
    from scipy import special

    from collective_efficacy.change._stats import nct_ci

    rng = np.random.default_rng(3)
    t = rng.uniform(-60, 60, 400)
    df = rng.uniform(1.05, 2.5, 400)
    for ci in (0.8, 0.95):
        lo, hi = nct_ci(t, df, ci)
        a, ta = 1 - ci, np.abs(t)
        low_abs, high_abs = np.where(t < 0, -hi, lo), np.where(t < 0, -lo, hi)
        assert (lo < hi).all()
        for lim, q in ((low_abs, 1 - a / 2), (high_abs, a / 2)):
            assert np.isfinite(lim).all()
            cdf = special.nctdtr(df, lim, ta)
            defined = np.isfinite(cdf)
            assert defined.mean() > 0.8
            assert_allclose(cdf[defined], q, atol=1e-10)
