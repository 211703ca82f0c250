"""Issue 14's detection claim, sharpened: pooled ROC, paired on the same data, bootstrap SEs.

Data: :func:`benchmarks.sim_change_model.simulate` (``K`` communities, 10-30 residents per
community and wave, sizes uniform and independent, true changes :math:`0.15 + N(0, 0.25^2)`,
intercepts :math:`N(3, 0.35^2)` independent of them, resident SD 0.8), replication ``r`` of
``K`` communities seeded ``np.random.default_rng([SEED, K, r])`` (fresh streams: no
replication shares its random numbers with another ``K`` or another study).

On each replication the methods see the *same* data (common random numbers): the model's
``change_model`` fit (REML, 95 %), per-community Welch tests and Welch + Holm (computed
vectorised, as ``compare_waves``: :func:`benchmarks.sim_change_model._check_welch`) and two
references: ``z_pooled`` (the raw change over its SE with the residual SD pooled over all
communities: no shrinkage) and the oracle (:math:`P(\\delta_j > 0 \\mid \\bar y_j)` with every
parameter at its true value: the best ranking any method could make).

Comparison (community results pooled over all replications; "positive" = true change > 0):

* **at a common false-positive rate** (FPR): for each statistic and target rate ``f`` the
  threshold is set once, on the pooled not-improved communities, so that ``floor(f x n_neg)`` of
  them are above it, and applied uniformly to every replication; the figure is the share of
  pooled truly improved communities above it;
* **at the rules' own operating points**: the model's verdict (``ci_low > 0``) makes ``m``
  false positives in all; the Welch one-sided p then gets the threshold at which it makes the
  same ``m`` (likewise the references), and the verdict's detection is compared with it.
  Likewise at Welch + Holm's own ``m``: the model's ``p_improved`` thresholded to make ``m``,
  against Holm's verdicts and against the Welch p thresholded to ``m``;
* **MC error**: bootstrap over replications (``B`` resamples; every rule's false-positive
  count and every threshold re-set in each resample, so the thresholds' own sampling error is
  in it); differences are paired (same resample for both methods);
* **coverage** of the model's 95 % interval (``ci_low``, ``ci_high``, the interval the verdict
  uses): the pooled share covering the true change, MC SE the SD of the per-replication shares
  over sqrt(replications) (equal ``K`` per replication: the same as a bootstrap).

Run (one process per ``K``; the methods page's run, about 25 ms of CPU per replication):
``nice -n 19 python -m benchmarks.sim_change_model_roc REPS K [K ...] [--boot B]``, e.g.
``20000 10``, ``10000 20``, ``5000 40``, ``2000 100`` (``--boot 1000``). Prints Markdown rows.
"""

from __future__ import annotations

import glob
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy import special

import collective_efficacy as ce

from .sim_change_model import MU, SD_E, SD_INT, _check_welch, _welch, simulate
from .timing import exit_on_help

SEED = 20_261_203
SD = 0.25
Z = 1.959963984540054
FPRS = (0.001, 0.005, 0.01, 0.02, 0.05)
STATS = ("p_improved", "welch", "z_pooled", "oracle")


def _wave_moments(data: pd.DataFrame, k: int) -> tuple[np.ndarray, ...]:
    """Per community (codes = sorted labels): n and mean before and after, pooled residual var."""
    codes = pd.factorize(data["community"], sort=True)[0]
    after = (data["wave"] == "end_of_cycle").to_numpy()
    y = data["score"].to_numpy()
    n_a = np.bincount(codes[after], minlength=k).astype(float)
    n_b = np.bincount(codes[~after], minlength=k).astype(float)
    m_a = np.bincount(codes[after], weights=y[after], minlength=k) / n_a
    m_b = np.bincount(codes[~after], weights=y[~after], minlength=k) / n_b
    resid = y - np.where(after, m_a[codes], m_b[codes])
    s2 = float(resid @ resid) / (len(y) - 2 * k)
    return n_b, n_a, m_b, m_a, np.array(s2)


def _oracle(n_b: np.ndarray, n_a: np.ndarray, m_b: np.ndarray, m_a: np.ndarray) -> np.ndarray:
    """P(delta_j > 0 | the community's two wave means), every parameter at its true value.

    (delta, ybar_b, ybar_a) is normal: ybar_b = 3 + u0 + e_b, ybar_a = 3 + u0 + delta + e_a.
    """
    t0, td, s2 = SD_INT**2, SD**2, SD_E**2
    c11, c12, c22 = t0 + s2 / n_b, t0, t0 + td + s2 / n_a
    det = c11 * c22 - c12 * c12
    r1, r2 = m_b - 3.0, m_a - 3.0 - MU
    # c = Cov(delta, (ybar_b, ybar_a)) = (0, td); S^-1 = [[c22, -c12], [-c12, c11]] / det
    mean = MU + td * (-c12 * r1 + c11 * r2) / det
    var = td - td * td * c11 / det
    out: np.ndarray = special.ndtr(mean / np.sqrt(var))
    return out


def one(k: int, r: int) -> dict[str, np.ndarray]:
    """One replication: per-community statistics of every method on the same data."""
    data, delta = simulate(np.random.default_rng([SEED, k, r]), k, SD)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a rare unverified fit is counted, not hidden
        m = ce.change_model(data, dv="score", community="community")
    c = m.communities
    w = _welch(data, k)
    n_b, n_a, m_b, m_a, s2 = _wave_moments(data, k)
    lo, hi = c["ci_low"].to_numpy(), c["ci_high"].to_numpy()
    return {
        "delta": delta,
        "p_improved": c["p_improved"].to_numpy(),
        "verdict": lo > 0,
        "covered": (lo <= delta) & (delta <= hi),
        "welch": 1.0 - w["p1"],
        "holm": (w["holm"] < 0.05) & (w["t"] > 0),
        "z_pooled": special.ndtr((m_a - m_b) / np.sqrt(s2 * (1.0 / n_a + 1.0 / n_b))),
        "oracle": _oracle(n_b, n_a, m_b, m_a),
        "boundary": np.full(k, m.boundary),
        "converged": np.full(k, m.converged),
    }


def run(k: int, reps: int, save: str | None = None, start: int = 0) -> dict[str, np.ndarray]:
    """Replications ``start, ..., start + reps - 1`` as (reps, K) arrays; with ``save``, written
    every 500 replications to ``save/roc_K_start.npz`` (a run stopped early is the first
    replications of a shorter run; a second process can run another block of ``r``)."""
    res: list[dict[str, np.ndarray]] = []
    for r in range(start, start + reps):
        res.append(one(k, r))
        if save is not None and (len(res) % 500 == 0 or len(res) == reps):
            stacked = {key: np.stack([x[key] for x in res]) for key in res[0]}
            np.savez_compressed(f"{save}/roc_{k}_{start}.npz", **stacked)
    return {key: np.stack([x[key] for x in res]) for key in res[0]}


def _sens_at(score: np.ndarray, pos: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Share of positives above the threshold that lets exactly ``m`` negatives above it.

    ``m``: false-positive counts (one per target); threshold = the (m+1)-th largest negative.
    """
    neg = np.sort(score[~pos])[::-1]
    thr = neg[np.minimum(m, len(neg) - 1)]
    above = np.sort(score[pos])
    return 1.0 - np.searchsorted(above, thr, side="right") / len(above)


def _figures(a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every reported figure of one (possibly resampled) set of replications.

    Per statistic: detection at the target rates :data:`FPRS`, then at the verdict's and at
    Holm's false-positive count; ``d_<stat>``: minus Welch's; ``rules``: the verdict's and
    Holm's detection and FPR, coverage; ``d_rules``: verdict minus Welch at the verdict's count,
    model minus Holm and model minus Welch at Holm's count.
    """
    pos = a["delta"] > 0
    n_neg = int((~pos).sum())
    m_ver = int(a["verdict"][~pos].sum())
    m_holm = int(a["holm"][~pos].sum())
    ms = np.concatenate([np.floor(np.array(FPRS) * n_neg).astype(int), [m_ver, m_holm]])
    out = {key: _sens_at(a[key], pos, ms) for key in STATS}
    out.update({"d_" + key: out[key] - out["welch"] for key in STATS})
    ver, holm = a["verdict"][pos].mean(), a["holm"][pos].mean()
    out["rules"] = np.array([ver, holm, m_ver / n_neg, m_holm / n_neg, a["covered"].mean()])
    model_h = out["p_improved"][-1]
    out["d_rules"] = np.array([ver - out["welch"][-2], model_h - holm, out["d_p_improved"][-1]])
    return out


def analyse(
    a: dict[str, np.ndarray], n_boot: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Point figures and their bootstrap SDs (resampling replications, thresholds re-set)."""
    point = _figures(a)
    rng = np.random.default_rng(2026)
    reps = len(a["delta"])
    boots: dict[str, list[np.ndarray]] = {key: [] for key in point}
    for _ in range(n_boot):
        idx = rng.integers(0, reps, reps)
        for key, v in _figures({key: x[idx] for key, x in a.items()}).items():
            boots[key].append(v)
    return point, {key: np.std(np.stack(v), axis=0, ddof=1) for key, v in boots.items()}


def _pp(x: float, se: float, sign: bool = True) -> str:
    return f"{100 * x:+.1f} ± {100 * se:.1f}" if sign else f"{100 * x:.1f} ± {100 * se:.1f}"


def _check() -> None:
    """The oracle against explicit normal conditioning; the threshold rule by brute force."""
    rng = np.random.default_rng(3)
    n_b, n_a = rng.integers(10, 31, 5).astype(float), rng.integers(10, 31, 5).astype(float)
    m_b, m_a = rng.normal(3, 0.5, 5), rng.normal(3.2, 0.5, 5)
    t0, td, s2 = SD_INT**2, SD**2, SD_E**2
    for j in range(5):
        cov = np.array([[t0 + s2 / n_b[j], t0], [t0, t0 + td + s2 / n_a[j]]])
        c = np.array([0.0, td])
        mean = MU + c @ np.linalg.solve(cov, [m_b[j] - 3.0, m_a[j] - 3.0 - MU])
        sd = np.sqrt(td - c @ np.linalg.solve(cov, c))
        got = _oracle(n_b[j : j + 1], n_a[j : j + 1], m_b[j : j + 1], m_a[j : j + 1])
        np.testing.assert_allclose(got, special.ndtr(mean / sd), rtol=1e-12)
    score, pos = rng.normal(size=500), rng.random(500) < 0.7
    for m in (0, 3, 17):
        thr = np.sort(score[~pos])[::-1][m]
        assert int((score[~pos] > thr).sum()) == m
        got = _sens_at(score, pos, np.array([m]))[0]
        assert abs(got - float((score[pos] > thr).mean())) < 1e-12


OPS_HEAD = (
    "| communities | replications | coverage of the 95 % interval | verdict: FPR "
    "| verdict: found | Welch at the verdict's FPR: found | **verdict minus Welch** "
    "| oracle minus Welch | `z_pooled` minus Welch | Welch + Holm: FPR | Welch + Holm: found "
    "| model at Holm's FPR: found | **model minus Welch + Holm** | model minus Welch at Holm's FPR |"
)
ROC_HEAD = "| communities | statistic | " + " | ".join(f"FPR {f:.1%}" for f in FPRS) + " |"


def report(k: int, a: dict[str, np.ndarray], n_boot: int, seconds: float) -> str:
    """One operating-points row and the ROC rows of ``K`` (percentage points ± bootstrap SE)."""
    p, se = analyse(a, n_boot)
    reps = len(a["delta"])
    rv, rse, dr, dse = p["rules"], se["rules"], p["d_rules"], se["d_rules"]
    cov_se = float(np.std(a["covered"].mean(axis=1), ddof=1) / np.sqrt(reps))
    pos = a["delta"] > 0
    cells = [
        str(k), str(reps), f"{rv[4]:.3f} ± {cov_se:.4f}", f"{100 * rv[2]:.2f} %",
        _pp(rv[0], rse[0], False), _pp(p["welch"][-2], se["welch"][-2], False),
        f"**{_pp(dr[0], dse[0])}**", _pp(p["d_oracle"][-2], se["d_oracle"][-2]),
        _pp(p["d_z_pooled"][-2], se["d_z_pooled"][-2]), f"{100 * rv[3]:.3f} %",
        _pp(rv[1], rse[1], False), _pp(p["p_improved"][-1], se["p_improved"][-1], False),
        f"**{_pp(dr[1], dse[1])}**", _pp(dr[2], dse[2]),
    ]  # fmt: skip
    lines = [
        f"<!-- K={k}: {reps} replications, {int(pos.sum())} truly improved and "
        f"{int((~pos).sum())} not-improved communities, {a['boundary'][:, 0].mean():.1%} "
        f"boundary fits, {1 - a['converged'][:, 0].mean():.2%} unverified, "
        f"{seconds:.0f} s CPU, bootstrap {n_boot} -->",
        "| " + " | ".join(cells) + " |",
        f"| {k} | Welch one-sided: found | "
        + " | ".join(_pp(p["welch"][i], se["welch"][i], False) for i in range(len(FPRS)))
        + " |",
    ]
    names = {"p_improved": "model `p_improved`", "z_pooled": "`z_pooled` (no shrinkage)",
             "oracle": "oracle (every parameter known)"}  # fmt: skip
    for s, name in names.items():
        d, ds = p["d_" + s], se["d_" + s]
        lines.append(
            f"| {k} | {name} minus Welch | "
            + " | ".join(_pp(d[i], ds[i]) for i in range(len(FPRS)))
            + " |"
        )
    return "\n".join(lines)


def _load(folder: str, k: int, reps: int) -> dict[str, np.ndarray]:
    blocks = []
    for path in sorted(glob.glob(f"{folder}/roc_{k}_*.npz")):
        with np.load(path) as f:
            blocks.append({key: f[key] for key in f.files})
    return {key: np.concatenate([b[key] for b in blocks])[:reps] for key in blocks[0]}


def main(argv: list[str]) -> None:
    """``REPS K [K ...] [--boot B] [--save DIR] [--start R] [--load DIR]``.

    ``--save``: the arrays as ``DIR/roc_K_R.npz`` while running (replications from ``R``,
    default 0); ``--load``: report every saved block of ``K`` together (at most ``REPS``
    replications) without simulating.
    """
    flags = [i for i, x in enumerate(argv) if x.startswith("--")]
    opts = {argv[i]: argv[i + 1] for i in flags}
    args = [x for i, x in enumerate(argv) if i not in flags and i - 1 not in flags]
    _check_welch()
    _check()
    print(OPS_HEAD + "\n" + ROC_HEAD, flush=True)
    reps = int(args[0])
    for k in (int(x) for x in args[1:]):
        t0 = time.process_time()
        if "--load" in opts:
            arrays = _load(opts["--load"], k, reps)
        else:
            arrays = run(k, reps, opts.get("--save"), int(opts.get("--start", 0)))
        seconds = time.process_time() - t0
        print(report(k, arrays, int(opts.get("--boot", 1000)), seconds), flush=True)


if __name__ == "__main__":
    exit_on_help(
        __doc__, sys.argv[1:], "REPS K [K ...] [--boot B] [--save DIR] [--start R] [--load DIR]"
    )
    main(sys.argv[1:])
