"""Adversarial tests of disclosure control: can a suppressed community's n or mean be solved?

The attacker reads only what is published (``Evaluation.to_json()``, report.md/html text,
communities.csv, GeoJSON) and knows how the library works: a community suppressed for size
holds 1 to ``min_n - 1`` respondents, a secondarily suppressed one between ``min_n`` and the
smallest shown community, a community "not measured" none. From every pooled figure it derives
what the hidden communities add to it (pool minus the shown communities): their total n (from
any n: ANOVA ``n``, change ``n_before``/``n_after``, reliability, omega and item n, the wave's
``n_rows_usable`` and the report's "N respondents used", ANOVA ``df1 + df2 + 1``), the sum of
their n squared (ANOVA ``n0``), how many of them are singletons (``n_singletons``), the sum of
their scores (overall means), of n times their squared means (``msb``) and their within-community
sum of squares (``msw * df2`` minus the shown communities' ``(n - 1) sd^2``). It then enumerates every vector of hidden
n inside the bounds that satisfies all these equations, exactly as a linear/quadratic system
over the integers, and solves the means where the system allows. A community is *recovered*
when only one n (or mean) remains possible where the bounds alone left more than one,
*narrowed* when a size-suppressed community no longer has the whole range 1 to ``min_n - 1``
open.

The surveys are complete (every respondent answers every item), so every count of rows equals
the count of scored respondents and the attacker's equations are exact.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce

INST = ce.load_instrument("sampson1997")
ITEMS = INST.scale("collective_efficacy").items
WAVES = ("baseline", "end_of_cycle")


def survey(sizes: dict[str, int], seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Complete answers (1-5) for communities of the given sizes; size 0 means absent."""
    rng = np.random.default_rng(seed)
    frames = []
    for k, (name, n) in enumerate(sizes.items()):
        if n == 0:
            continue
        own = 3 + shift + 0.8 * np.sin(3 * k + seed) + rng.normal(0, 0.6, n)
        cells = {i: np.clip(np.round(own + rng.normal(0, 0.7, n)), 1, 5).astype(int) for i in ITEMS}
        ids = [f"R{seed}_{name}_{j}" for j in range(n)]
        frames.append(pd.DataFrame({"rid": ids, "community": name, **cells}))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# the attacker
# --------------------------------------------------------------------------------------------


@dataclass
class System:
    """Equations on the hidden n from one kind of count (counts of different things, such as
    item answers and scored respondents, differ when answers are missing)."""

    sums: set[int] = field(default_factory=set)  # totals of the hidden n
    squares: set[int] = field(default_factory=set)  # totals of the hidden n^2
    singletons: set[int] = field(default_factory=set)  # hidden communities with n = 1


@dataclass
class WaveView:
    """What the published outputs say about one wave."""

    shown: dict[str, tuple[int, float]] = field(default_factory=dict)  # n, mean
    sd: dict[str, float] = field(default_factory=dict)  # shown communities' sd
    within: list[float] = field(default_factory=list)  # within-community SS of the hidden
    bounds: dict[str, tuple[int, int]] = field(default_factory=dict)  # hidden: lo, hi
    systems: dict[str, System] = field(default_factory=dict)
    score_sums: list[float] = field(default_factory=list)  # sum of the hidden scores
    between: list[float] = field(default_factory=list)  # sum of n * mean^2 of the hidden

    def system(self, source: str) -> System:
        return self.systems.setdefault(source, System())


def _n(v: Any) -> int | None:
    return None if v is None else round(float(v))


def read_published(res: dict[str, Any], texts: list[str]) -> dict[str, WaveView]:
    """The attacker's equations, per wave, from results.json and the report texts."""
    com, min_n = res["community"], int(res["min_n"])
    views = {w: WaveView() for w in WAVES}
    for r in res["sections"].get("community_scores", []):
        v = views[r["wave"]]
        if not r["suppressed"]:
            v.shown[r[com]] = (int(r["n"]), float(r["mean"]))
            v.sd[r[com]] = float(r["sd"]) if r.get("sd") is not None else 0.0
    for r in res["sections"].get("community_scores", []):
        v = views[r["wave"]]
        if r["suppressed"]:
            reason = str(r.get("reason") or "")
            if reason.startswith("no respondents"):
                continue  # known to be 0
            if reason.startswith("secondary"):
                hi = min((n for n, _ in v.shown.values()), default=10**6)
                v.bounds[r[com]] = (min_n, max(min_n, min(hi, 10**6)))
            else:
                v.bounds[r[com]] = (1, min_n - 1)

    def shown_n(w: str) -> int:
        return sum(n for n, _ in views[w].shown.values())

    def add_count(w: str, source: str, total: Any) -> None:
        t = _n(total)
        if t is not None and t - shown_n(w) != 0:  # 0: the pool holds the shown ones only
            views[w].system(source).sums.add(t - shown_n(w))

    sec = res["sections"]
    for r in sec.get("aggregation", []):  # scored respondents
        w, n, k = r["wave"], _n(r.get("n")), _n(r.get("n_groups"))
        add_count(w, "scored", n)
        if r.get("df1") is not None and r.get("df2") is not None:  # df1 + df2 = N - 1
            add_count(w, "scored", _n(r["df1"]) + _n(r["df2"]) + 1)
        v = views[w]
        if r.get("msw") is not None and r.get("df2") is not None:  # MSW * df2 = SSW
            ssw = float(r["msw"]) * float(r["df2"])
            shown_ssw = sum((m - 1) * v.sd[c] ** 2 for c, (m, _) in v.shown.items())
            v.within.append(ssw - shown_ssw)
        if n is not None and k is not None and k > 1 and r.get("n0") is not None:
            sq_all = n * (n - float(r["n0"]) * (k - 1))
            hidden_sq = sq_all - sum(m * m for m, _ in v.shown.values())
            if abs(hidden_sq) > 0.5:
                v.system("scored").squares.add(round(hidden_sq))
        if r.get("n_singletons") is not None:
            s = _n(r["n_singletons"]) - sum(1 for m, _ in v.shown.values() if m == 1)
            if s:
                v.system("scored").singletons.add(s)
        grand = _grand_mean(sec, w, n)
        if r.get("msb") is not None and n is not None and k and grand is not None:
            ssb = float(r["msb"]) * (k - 1)
            b_all = ssb + n * grand * grand
            v.between.append(b_all - sum(m * mu * mu for m, mu in v.shown.values()))
    for name in ("reliability", "omega", "item_statistics"):
        for r in sec.get(name, []):
            add_count(r["wave"], f"{name} {r.get('item', '')}", r.get("n"))
    for r in sec.get("change", []):
        if r.get("level") != "overall":
            continue
        for w, suffix in zip(WAVES, ("before", "after")):
            add_count(w, "scored", r.get(f"n_{suffix}"))
            n, mean = _n(r.get(f"n_{suffix}")), r.get(f"mean_{suffix}")
            if n is not None and mean is not None and n != shown_n(w):
                views[w].score_sums.append(
                    n * float(mean) - sum(m * mu for m, mu in views[w].shown.values())
                )
    for wv in res["waves"]:
        add_count(wv["wave"], "rows", wv.get("n_rows_usable"))
        if wv.get("n_rows_in") is not None and wv.get("n_rows_excluded") is not None:
            add_count(wv["wave"], "rows", wv["n_rows_in"] - wv["n_rows_excluded"])
    for text in texts:  # "Baseline: 1,195 respondents used in 40 communities", "Based on the
        # answers of 1,195 residents at baseline and 1,198 at the end" (and in Dutch)
        num = r"(\d[\d.,]*\d|\d)"
        pairs = re.findall(r"(\w[\w ]*): " + num + r" (?:respondents used|respondenten gebr)", text)
        for pattern in (
            r"answers of " + num + r" residents at (baseline)",
            r"antwoorden van " + num + r" bewoners bij de (nulmeting)",
            r"and " + num + r" at (the end)",
            r"en " + num + r" bij (de eindmeting)",
        ):
            pairs += [(label, c) for c, label in re.findall(pattern, text)]
        for label, count in pairs:
            w = WAVES[0] if label.lower().startswith(("base", "nul")) else WAVES[1]
            add_count(w, "rows", count.replace(",", "").replace(".", ""))
    return views


def _grand_mean(sec: dict[str, Any], wave: str, n: int | None) -> float | None:
    for r in sec.get("change", []):
        if r.get("level") == "overall":
            suffix = "before" if wave == WAVES[0] else "after"
            if _n(r.get(f"n_{suffix}")) == n and r.get(f"mean_{suffix}") is not None:
                return float(r[f"mean_{suffix}"])
    return None


def feasible(bounds: dict[str, tuple[int, int]], eq: System) -> np.ndarray:
    """Every vector of hidden n inside the bounds that satisfies the equations (one per row)."""
    cap = min([*eq.sums, *(math.isqrt(q) for q in eq.squares)], default=None)
    if cap is None:  # only singletons: n = 1 or not, two values are enough
        cap = max(lo for lo, _ in bounds.values()) + 1
    ranges = [np.arange(lo, max(lo, min(hi, cap)) + 1) for lo, hi in bounds.values()]
    size = math.prod(len(r) for r in ranges)
    assert size <= 3_000_000, "attack space too large for this test's generator"
    grid = np.stack([g.ravel() for g in np.meshgrid(*ranges, indexing="ij")], axis=1)
    ok = np.ones(len(grid), dtype=bool)
    for s in eq.sums:
        ok &= grid.sum(axis=1) == s
    for q in eq.squares:
        ok &= (grid * grid).sum(axis=1) == q
    for k in eq.singletons:
        ok &= (grid == 1).sum(axis=1) == k
    return grid[ok]


def solve(v: WaveView) -> tuple[dict[str, set[int]], dict[str, set[float]]]:
    """The hidden n still possible under each consistent system (the smallest set wins), and
    the hidden means that the equations pin down to at most two candidates."""
    names = list(v.bounds)
    if not names:
        return {}, {}
    possible = {c: set(range(lo, min(hi, lo + 1000) + 1)) for c, (lo, hi) in v.bounds.items()}
    pinned: np.ndarray | None = None
    for eq in v.systems.values():
        sol = feasible(v.bounds, eq)
        if not len(sol):
            continue  # the attacker's model of this count is wrong (e.g. missing answers)
        for j, c in enumerate(names):
            vals = set(sol[:, j].tolist())
            if len(vals) < len(possible[c]):
                possible[c] = vals
        if len(sol) == 1 and eq is v.systems.get("scored"):
            pinned = sol[0]
    means: dict[str, set[float]] = {}
    if pinned is not None and v.score_sums:
        n = pinned.astype(float)
        s = v.score_sums[0]
        if len(names) == 1:
            means[names[0]] = {s / n[0]}
        elif len(names) == 2 and v.between:
            # n1 m1 + n2 m2 = s, n1 m1^2 + n2 m2^2 = b: a quadratic in m1
            b = v.between[0]
            a2 = n[0] + n[0] ** 2 / n[1]
            a1 = -2 * n[0] * s / n[1]
            a0 = s * s / n[1] - b
            disc = a1 * a1 - 4 * a2 * a0
            if disc >= -1e-6:  # at most two candidates: the mean is as good as known
                means[names[0]] = {
                    (-a1 + sgn * math.sqrt(max(disc, 0.0))) / (2 * a2) for sgn in (1, -1)
                }
    return possible, means


@dataclass
class Verdict:
    recovered_n: dict[tuple[str, str], int]
    narrowed: dict[tuple[str, str], set[int]]
    recovered_mean: dict[tuple[str, str], set[float]]
    recovered_sd: dict[tuple[str, str], float] = field(default_factory=dict)


def attack(res: dict[str, Any], texts: list[str]) -> Verdict:
    min_n = int(res["min_n"])
    out = Verdict({}, {}, {})
    for w, v in read_published(res, texts).items():
        possible, means = solve(v)
        for c, vals in possible.items():
            lo, hi = v.bounds[c]
            # pinned by the published figures, not by what suppression itself says: a
            # community "below min_n = 2" holds 1; a secondarily suppressed one at most as
            # many as the smallest shown one (so exactly min_n if that one holds min_n)
            if len(vals) == 1 and hi > lo:
                out.recovered_n[(w, c)] = next(iter(vals))
            if hi <= min_n - 1 and vals != set(range(lo, hi + 1)):
                out.narrowed[(w, c)] = vals
        for c, m in means.items():
            out.recovered_mean[(w, c)] = m
        # one hidden community inside the ANOVA pool: MSW minus the shown ones is its SS
        for ss in v.within:
            if abs(ss) > 1e-6 and len(v.bounds) == 1 and len(possible) == 1:
                (c,) = v.bounds
                (n,) = possible[c] if len(possible[c]) == 1 else (None,)
                if n is not None and n > 1:
                    out.recovered_sd[(w, c)] = math.sqrt(ss / (n - 1))
    return out


def published(ev: ce.Evaluation) -> tuple[dict[str, Any], list[str]]:
    return json.loads(ev.to_json()), [ev.to_markdown(), ev.to_markdown(lang="nl"), ev.to_html()]


def direct_leaks(res: dict[str, Any]) -> list[str]:
    """Per-community records of a suppressed community that still carry its n or a statistic."""
    com = res["community"]
    bad = []
    hidden = {(r[com], r["wave"]) for r in res["sections"]["community_scores"] if r["suppressed"]}
    for r in res["sections"]["community_scores"]:
        if r["suppressed"] and (r.get("n") not in (None, 0) or r.get("mean") is not None):
            bad.append(f"community_scores {r[com]} {r['wave']}")
    for name in ("community_agreement", "impact"):
        for r in res["sections"].get(name, []):
            if (r[com], r["wave"]) in hidden and r.get("n") is not None:
                bad.append(f"{name} {r[com]} {r['wave']} n")
    for r in res["sections"].get("change", []):
        if r.get("level") == "overall":
            continue
        either = any((r[com], w) in hidden for w in WAVES)
        if either:
            for k in ("n_before", "n_after", "mean_before", "mean_after", "diff", "p"):
                if r.get(k) is not None:
                    bad.append(f"change {r[com]} {k}")
    return bad


# --------------------------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------------------------


def test_example_recovers_no_suppressed_community(example_evaluation) -> None:
    """Issue 13: the example published Buurt I1 (n = 8) and Buurt C1 (n = 10) at end of cycle
    through n, n_groups and n0 of the aggregation section, and their means through msb."""
    res, texts = published(example_evaluation)
    verdict = attack(res, texts)
    assert verdict.recovered_n == {}
    assert verdict.recovered_mean == {}
    assert verdict.narrowed == {}
    assert direct_leaks(res) == []


def test_attacker_solves_what_the_old_sections_published() -> None:
    """The attacker is not toothless: fed the old publication (pooled over every respondent,
    with n0 and msb) it solves two hidden communities exactly, n and mean."""
    b = survey({"A": 30, "B": 25, "S": 4, "T": 12}, 1)
    t = b[b["community"] == "T"]
    s = b[b["community"] == "S"]
    shown = {"A": 30, "B": 25}
    means = {c: b.loc[b["community"] == c, ITEMS].mean(axis=1).mean() for c in shown}
    y = b[ITEMS].mean(axis=1)
    nj = b.groupby("community").size()
    mj = y.groupby(b["community"]).mean()
    k, n = len(nj), len(b)
    ssb = float((nj * (mj - y.mean()) ** 2).sum())
    n0 = (n - float((nj**2).sum()) / n) / (k - 1)
    rows = [
        {"community": c, "wave": "baseline", "n": shown[c], "mean": means[c], "suppressed": False}
        for c in shown
    ]
    rows += [
        {"community": "S", "wave": "baseline", "suppressed": True, "reason": "fewer than 10"},
        {"community": "T", "wave": "baseline", "suppressed": True, "reason": "secondary"},
    ]
    old = {
        "community": "community",
        "min_n": 10,
        "waves": [],
        "sections": {
            "community_scores": rows,
            "aggregation": [
                {"wave": "baseline", "n": n, "n_groups": k, "n0": n0, "msb": ssb / (k - 1)}
            ],
            "change": [
                {"level": "overall", "n_before": n, "mean_before": float(y.mean())},
            ],
        },
    }
    verdict = attack(old, [])
    assert verdict.recovered_n == {("baseline", "S"): 4, ("baseline", "T"): 12}
    assert verdict.recovered_sd == {}  # two hidden communities: their SS is only a pool
    got = verdict.recovered_mean[("baseline", "S")]
    want = float(s[ITEMS].mean(axis=1).mean())
    assert t is not None and min(abs(g - want) for g in got) < 1e-9


def test_every_community_of_a_wave_suppressed_publishes_no_pool() -> None:
    """Issue 13, item 2: a wave of one community of 5 (min_n = 10) publishes no total."""
    b = survey({"A": 5}, 1)
    a = survey({"A": 30, "B": 25}, 2)
    ev = ce.evaluate(b, a, community="community", respondent="rid")
    res, texts = published(ev)
    base = res["waves"][0]
    assert base["n_rows_usable"] is None and base["n_rows_in"] is None
    for name in ("reliability", "item_statistics", "omega", "aggregation", "ecometric"):
        assert all(r["wave"] != "baseline" for r in res["sections"].get(name, []))
    overall = [r for r in res["sections"].get("change", []) if r["level"] == "overall"]
    assert all(r.get("n_before") in (None, 0) and r.get("mean_before") is None for r in overall)
    for text in texts:
        assert not re.search(r"\b5 respondents used", text)
        assert "fewer than 10 respondents" in text or "minder dan 10 respondenten" in text
    assert attack(res, texts).recovered_n == {}


def test_pool_of_nine_below_min_n_is_not_published() -> None:
    b = survey({"A": 4, "B": 5}, 3)
    a = survey({"A": 12, "B": 11}, 4)
    ev = ce.evaluate(b, a, community="community", respondent="rid")
    res, texts = published(ev)
    assert res["waves"][0]["n_rows_usable"] is None
    assert all(r["wave"] != "baseline" for r in res["sections"].get("reliability", []))
    assert all(r["wave"] != "baseline" for r in res["sections"].get("item_statistics", []))
    verdict = attack(res, texts)
    assert verdict.recovered_n == {} and verdict.narrowed == {}


# --------------------------------------------------------------------------------------------
# generated surveys
# --------------------------------------------------------------------------------------------


@st.composite
def surveys(draw: Any) -> tuple[dict[str, int], dict[str, int], int, int]:
    k = draw(st.integers(1, 5))
    names = [f"C{j}" for j in range(k)]
    before = {c: draw(st.integers(0, 25)) for c in names}
    after = {c: draw(st.integers(0, 25)) for c in names}
    min_n = draw(st.integers(2, 15))
    seed = draw(st.integers(0, 10_000))
    return before, after, min_n, seed


# 30 generated surveys: the edge cases (a wave with every community suppressed, a pool of nine
# below min_n, the suppression pattern over small sizes, the example) are explicit tests above
# and below
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(surveys())
def test_no_suppressed_community_is_solvable(case: Any) -> None:
    before, after, min_n, seed = case
    assume(sum(before.values()) > 0 and sum(after.values()) > 0)
    # at least one community suppressed for size in some wave (0 < n < min_n)
    assume(any(0 < n < min_n for n in [*before.values(), *after.values()]))
    ev = ce.evaluate(
        survey(before, seed),
        survey(after, seed + 1, shift=0.3),
        community="community",
        respondent="rid",
        min_n=min_n,
    )
    res, texts = published(ev)
    verdict = attack(res, texts)
    assert verdict.recovered_n == {}, verdict
    assert verdict.recovered_mean == {}, verdict
    assert verdict.recovered_sd == {}, verdict
    assert verdict.narrowed == {}, verdict
    assert direct_leaks(res) == []
    # the published counts still add up where they are published
    for w in res["waves"]:
        if w["n_rows_in"] is not None:
            assert w["n_rows_in"] == w["n_rows_usable"] + w["n_rows_excluded"]


def test_enumeration_is_exhaustive_on_a_small_case() -> None:
    """The solver's feasible set equals brute force over itertools.product."""
    v = WaveView(bounds={"a": (1, 4), "b": (1, 4), "c": (5, 8)})
    v.systems["scored"] = System(sums={12}, squares={56})
    possible, _ = solve(v)
    brute = [
        p
        for p in itertools.product(range(1, 5), range(1, 5), range(5, 9))
        if sum(p) == 12 and sum(x * x for x in p) == 56
    ]
    assert possible["a"] == {p[0] for p in brute}
    assert possible["c"] == {p[2] for p in brute}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_cli_outputs_carry_no_suppressed_n(example_outputs, lang) -> None:
    tmp_path = example_outputs(lang)
    res = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    texts = [(tmp_path / f).read_text(encoding="utf-8") for f in ("report.md", "report.html")]
    assert attack(res, texts).recovered_n == {}
    csv = pd.read_csv(tmp_path / "communities.csv")
    assert csv.loc[csv["suppressed"], "n"].isna().all()
    for wave in WAVES:
        fc = json.loads((tmp_path / f"map_{wave}.geojson").read_text(encoding="utf-8"))
        for f in fc["features"]:
            if f["properties"].get("suppressed"):
                assert f["properties"].get("n") is None


def test_score_cli_publishes_no_suppressed_n(tmp_path, capsys) -> None:
    """Issue 13, item 7: communities.csv of `score` had the exact n of suppressed communities."""
    from collective_efficacy.cli import main

    assert main(["score", "--example", "--min-n", "10", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    csv = pd.read_csv(tmp_path / "communities.csv")
    sup = csv["suppressed"].astype(bool)
    assert sup.any() and csv.loc[sup, "n"].isna().all()
    assert csv.loc[sup, "reason"].str.startswith("secondary suppression").any()
    # the end-of-cycle wave: Buurt I1 (8) and Buurt C1 (secondary, pinned at 10): the rows
    # used would give I1 away, so they are not printed
    assert "2393 usable" not in out and "rows read and used not published" in out
    cs = csv[csv["scale"] == "collective_efficacy"]
    for _, part in cs.groupby("meting"):
        hidden = part[part["suppressed"].astype(bool)]
        shown = part[~part["suppressed"].astype(bool)]
        # every hidden pool is empty or at least min_n: the secondary rule applied
        assert len(hidden) == 0 or len(hidden) >= 2 or hidden["reason"].str.startswith("no").all()
        assert shown["n"].min() >= 10


def test_geojson_of_a_full_table_blanks_suppressed_rows(tmp_path) -> None:
    """to_geojson is public: a table that still holds n for suppressed rows is blanked."""
    from collective_efficacy.datasets import load_example_geometry
    from collective_efficacy.export import to_geojson

    geo = load_example_geometry()
    names = [f["properties"]["buurt"] for f in geo["features"]][:2]
    levels = pd.DataFrame(
        {
            "buurt": names,
            "level": [2, None],
            "n": [30, 4],
            "cohesion_score": [3.1, 2.0],
            "suppressed": [False, True],
            "reason": ["", "fewer than 10 respondents"],
        }
    )
    res = to_geojson(levels, geo, community="buurt")
    props = {f["properties"]["buurt"]: f["properties"] for f in res.feature_collection["features"]}
    assert props[names[1]]["n"] is None and props[names[1]]["cohesion_score"] is None
    assert props[names[0]]["n"] == 30


def test_attacker_solves_one_hidden_community_from_the_anova() -> None:
    """One hidden community in an ANOVA over all respondents: n from df, sd from MSW."""
    b = survey({"A": 30, "B": 25, "S": 6}, 2)
    y = b[ITEMS].mean(axis=1)
    g = y.groupby(b["community"])
    nj, sd = g.size(), g.std()
    ssw = float(((y - g.transform("mean")) ** 2).sum())
    rows = [
        {
            "community": c,
            "wave": "baseline",
            "n": int(nj[c]),
            "mean": float(g.mean()[c]),
            "sd": float(sd[c]),
            "suppressed": False,
        }
        for c in ("A", "B")
    ]
    rows.append({"community": "S", "wave": "baseline", "suppressed": True, "reason": "fewer"})
    k, n = 3, len(b)
    old = {
        "community": "community",
        "min_n": 10,
        "waves": [],
        "sections": {
            "community_scores": rows,
            "aggregation": [{"wave": "baseline", "df1": k - 1, "df2": n - k, "msw": ssw / (n - k)}],
        },
    }
    verdict = attack(old, [])
    assert verdict.recovered_n == {("baseline", "S"): 6}
    assert verdict.recovered_sd[("baseline", "S")] == pytest.approx(sd["S"], rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(10, 60), min_size=0, max_size=5),
    st.lists(st.tuples(st.integers(1, 14), st.integers(1, 14)), min_size=1, max_size=5),
    st.integers(2, 15),
)
def test_suppression_pattern_does_not_depend_on_small_sizes(shown, small, min_n) -> None:
    """Attack 6: which communities are suppressed is published, so it must be the same for
    every size the small communities could have (1 to min_n - 1)."""
    from collective_efficacy.disclosure import secondary_suppression

    shown = [n for n in shown if n >= min_n]
    patterns = set()
    for pick in (0, 1):
        sizes = [min(pair[pick], min_n - 1) for pair in small] + shown
        table = pd.DataFrame(
            {
                "community": [f"C{j}" for j in range(len(sizes))],
                "n": sizes,
                "mean": 3.0,
                "suppressed": [n < min_n for n in sizes],
                "reason": ["fewer than" if n < min_n else "" for n in sizes],
            }
        )
        out = secondary_suppression(table, community="community", wave=None, min_n=min_n)
        patterns.add(tuple(out["suppressed"]) + tuple(out["reason"]))
    assert len(patterns) == 1


def _multiscale_survey(sizes: dict[str, int], seed: int, means: dict[str, float]) -> pd.DataFrame:
    """Answers to the ten Sampson items (SC1-5, ISC1-5) for communities of the given sizes."""
    rng = np.random.default_rng(seed)
    cols = [f"SC{i}" for i in range(1, 6)] + [f"ISC{i}" for i in range(1, 6)]
    rows = []
    for name, n in sizes.items():
        cells = np.clip(np.round(rng.normal(means[name], 1, (n, len(cols)))), 1, 5)
        rows.append(pd.DataFrame(cells, columns=cols).assign(buurt=name))
    return pd.concat(rows, ignore_index=True)


def _score_outputs(tmp_path: Any, data: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any], str]:
    from collective_efficacy.cli import main

    data.to_csv(tmp_path / "s.csv", index=False)
    out = tmp_path / "out"
    assert main(["score", str(tmp_path / "s.csv"), "--community", "buurt", "--out", str(out)]) == 0
    validation = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    return pd.read_csv(out / "communities.csv"), validation, (out / "communities.csv").read_text()


def test_score_suppresses_a_community_on_every_scale(tmp_path, capsys) -> None:
    """Attack (review of main): per-scale suppression let C (10 respondents, one skipping
    items: n = 9 on two scales) be secondarily suppressed on the third, so C >= 10, and
    n_rows_usable 66 - 30 - 25 = C + D = 11 pinned D = 1. One pattern per community and wave."""
    data = _multiscale_survey({"A": 30, "B": 25, "C": 10, "D": 1}, 11, dict.fromkeys("ABCD", 3.0))
    x = data.index[data["buurt"] == "C"][-1]
    data.loc[x, ["SC4", "SC5", "ISC3", "ISC4", "ISC5"]] = np.nan
    table, validation, _ = _score_outputs(tmp_path, data)
    console = capsys.readouterr().out
    pattern = table.groupby("buurt")["suppressed"].agg(["all", "any"])
    assert (pattern["all"] == pattern["any"]).all()  # shown on every scale or on none
    reasons = table.groupby("buurt")["reason"].nunique(dropna=False)
    assert (reasons == 1).all()
    sup = table["suppressed"].astype(bool)
    assert table.loc[sup, ["n", "mean"]].isna().all().all()
    # the hidden total of rows leaves every community suppressed for size its whole range
    shown = table[~sup].drop_duplicates("buurt")["n"].sum()
    if validation["n_rows_usable"] is not None:
        hidden = validation["n_rows_usable"] - shown
        secondary = table[sup & table["reason"].str.startswith("secondary")]["buurt"].nunique()
        primary = table[sup & table["reason"].str.startswith("fewer")]["buurt"].nunique()
        top = table.loc[~sup, "n"].min()
        # any primary could hold 1 or min_n - 1 given the total and the others' bounds
        assert hidden - secondary * top - (primary - 1) * 9 <= 1
        assert hidden - secondary * 10 - (primary - 1) * 1 >= 9
    assert "D" in console and set(table.loc[~sup, "buurt"]) == {"A"}


def test_score_hides_a_scale_mean_given_by_related_scales(tmp_path) -> None:
    """Attack (review of main): collective_efficacy is the mean of the SC and ISC items, so a
    community shown on CE and SC but suppressed on ISC gave ISC = 2 CE - SC away."""
    data = _multiscale_survey({"A": 30, "B": 25, "C": 10}, 5, {"A": 3, "B": 3.5, "C": 2})
    x = data.index[data["buurt"] == "C"][-1]
    data.loc[x, ["SC5", "ISC3", "ISC4", "ISC5"]] = np.nan
    table, _, _ = _score_outputs(tmp_path, data)
    for name, part in table.groupby("buurt"):
        hidden = part["suppressed"].astype(bool)
        assert hidden.all() or not hidden.any(), name
        assert part.loc[hidden, "mean"].isna().all()
    # with a hidden ISC mean, CE or SC of the same community is never shown
    assert table.loc[table["buurt"].isin(["B", "C"]), "mean"].isna().all()


def test_wave_with_every_community_suppressed_publishes_no_row_count(tmp_path) -> None:
    """Attack (review of main): three communities of 4 in a wave published "12 respondents
    used in 3 communities"; with no community shown only "fewer than min_n" is published."""
    from collective_efficacy.cli import main

    b = survey({"A": 30, "B": 25, "C": 12}, 1)
    a = survey({"A": 4, "B": 4, "C": 4}, 2)
    res, texts = published(ce.evaluate(b, a, community="community", respondent="rid"))
    end = res["waves"][1]
    assert end["n_rows_usable"] is None and end["n_rows_in"] is None
    assert not any(re.search(r"\b12 (respondents|respondenten)\b", t) for t in texts)
    a.to_csv(tmp_path / "a.csv", index=False)
    args = ["score", str(tmp_path / "a.csv"), "--community", "community", "--out"]
    assert main([*args, str(tmp_path / "out")]) == 0
    validation = json.loads((tmp_path / "out" / "validation.json").read_text(encoding="utf-8"))
    assert validation["n_rows_usable"] is None and validation["n_rows_in"] is None


def test_report_names_the_reason_of_every_suppressed_impact_row(example_evaluation) -> None:
    """Review of main: the impact table labelled a secondarily suppressed community "fewer
    than 10 respondents" (a false statement, and one the other tables do not make)."""
    ev = example_evaluation
    secondary = [r for r in ev.sections["impact"] if str(r.get("reason")).startswith("secondary")]
    assert secondary
    labels = {"baseline": "baseline", "end_of_cycle": "end of cycle"}
    md = ev.to_markdown()
    for r in secondary:
        rows = [
            line
            for line in md.splitlines()
            if line.startswith(f"| {r['buurt']} | {labels[r['wave']]} |")
            and "secondary suppression" in line
        ]
        assert rows  # one per table: scores, agreement, impact
        assert not any("fewer than" in line for line in rows)
    impact = md[md.index("## Impact") :]
    assert "secondary suppression" in impact.split("\n## ")[0]


def test_overall_model_sentence_says_it_uses_the_shown_communities(example_evaluation) -> None:
    """Review of main: the report said the overall model "uses every respondent of both
    waves"; it uses the respondents of the communities shown in each wave."""
    en, nl = example_evaluation.to_markdown(), example_evaluation.to_markdown(lang="nl")
    assert "every respondent of both waves" not in en
    assert "every respondent of the communities shown in each wave" in en
    assert "alle respondenten van beide metingen" not in nl
    assert "van de buurten die per meting getoond worden" in nl


def test_shown_respondents_from_prepared_codings_equals_plain() -> None:
    """Within a preparation holding the community and wave codings, shown_respondents selects
    exactly the rows it selects by hashing the labels (secondary suppression included)."""
    from collective_efficacy._groups import factorize_groups
    from collective_efficacy.disclosure import secondary_suppression, shown_respondents

    rng = np.random.default_rng(4)
    n = 3000
    comm = np.array([f"B{i:03d}" for i in range(120)], dtype=object)[rng.integers(0, 120, n)]
    scores = pd.DataFrame(
        {"c": comm, "w": rng.choice(["baseline", "end_of_cycle"], n), "v": rng.normal(size=n)}
    )
    table = ce.aggregate(scores, community="c", wave="w", min_n=20).rename(columns={"w": "wave"})
    table = secondary_suppression(table, community="c", wave="wave", min_n=20)
    assert table["suppressed"].any() and not table["suppressed"].all()
    kw: dict[str, Any] = {"community": "c", "wave": "w", "table_wave": "wave"}
    plain = shown_respondents(scores, table, **kw)
    prep = ce.PreparedSurvey(scores)
    with prep:
        factorize_groups(scores, "c"), factorize_groups(scores, "w")
        prepared = shown_respondents(scores, table, **kw)
    pd.testing.assert_frame_equal(prepared, plain)
    assert 0 < len(plain) < n


def test_a_total_is_unsafe_with_a_secondary_pinned_by_its_smallest_sibling() -> None:
    # a secondary lies in [min_n, smallest shown]; with the smallest shown at min_n it is known
    from collective_efficacy.disclosure import total_is_safe

    sec = [False, False, False, True]  # the three small ones' ranges stay whole either way
    assert not total_is_safe([1, 3, 2, 5], secondary=sec, min_n=5, smallest_shown=5)
    assert total_is_safe([1, 3, 2, 5], secondary=sec, min_n=5, smallest_shown=6)
