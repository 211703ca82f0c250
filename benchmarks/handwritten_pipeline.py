"""The evaluation pipeline written by hand with pandas + pingouin + statsmodels (issue 16 item 5).

What an analyst would write instead of ``collective-efficacy evaluate``, step for step, as the
peer of the end-to-end benchmark (:mod:`benchmarks.bench_e2e`)::

    python -m benchmarks.handwritten_pipeline BASELINE.csv END.csv OUT_DIR [--min-n 10]

1. read both CSV files (``pandas.read_csv``, default engine and types), rename the item columns
   to the instrument's ids (the same mapping the CLI gets with ``--columns``);
2. answers to numbers (text cells such as ``"Mee eens"`` or ``"4,0"`` become missing, codes
   outside 1-5 too), reverse-key SC3 and SC4, score = mean of the answered items;
3. Cronbach's alpha per wave (``pingouin.cronbach_alpha``, pairwise);
4. ICC(1) per wave from the one-way ANOVA (``pingouin.anova``, the k0 of unequal group sizes);
5. per-community n, mean and sd per wave (``groupby``), communities below ``--min-n``
   suppressed;
6. Welch's t-test per community (``scipy.stats.ttest_ind(equal_var=False)`` in a loop over the
   communities) and Holm's correction (``statsmodels.stats.multitest.multipletests``);
7. the overall change: OLS of the score on the wave with standard errors clustered by
   community (``statsmodels``; a random-intercept ``MixedLM`` on 13,000 communities does not
   finish in minutes);
8. write ``communities.csv`` and ``summary.json``.

It does less than the library: no validation report (rows excluded without reasons), no omega,
item statistics, rwg/AD, ecometric model, confidence intervals of the effect sizes, impact
levels or HTML/Markdown report. The benchmark states this beside its time.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import pandas as pd

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5", "ISC1", "ISC2", "ISC3", "ISC4", "ISC5"]
REVERSED = ["SC3", "SC4"]
COMMUNITY = "buurt"


def load(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    df = pd.read_csv(path).rename(columns=columns)
    x = df[ITEMS].apply(pd.to_numeric, errors="coerce")
    x = x.where((x >= 1) & (x <= 5))
    x[REVERSED] = 6 - x[REVERSED]
    out = x.assign(score=x.mean(axis=1), community=df[COMMUNITY].astype(str))
    return out[df[COMMUNITY].notna() & out["score"].notna()]


def icc1(df: pd.DataFrame) -> float:
    import pingouin as pg

    aov = pg.anova(data=df, dv="score", between="community", detailed=True)
    ms_b, ms_w = aov["MS"].iloc[0], aov["MS"].iloc[1]
    n = df.groupby("community").size().to_numpy()
    k0 = (n.sum() - (n**2).sum() / n.sum()) / (len(n) - 1)
    return float((ms_b - ms_w) / (ms_b + (k0 - 1) * ms_w))


def welch_per_community(before: pd.DataFrame, after: pd.DataFrame, min_n: int) -> pd.DataFrame:
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    b = dict(tuple(before.groupby("community")["score"]))
    a = dict(tuple(after.groupby("community")["score"]))
    rows = []
    for c in sorted(set(b) & set(a)):
        x, y = b[c].to_numpy(), a[c].to_numpy()
        if len(x) < min_n or len(y) < min_n:
            continue
        t, p = stats.ttest_ind(y, x, equal_var=False)
        rows.append((c, len(x), x.mean(), len(y), y.mean(), y.mean() - x.mean(), t, p))
    cols = ["community", "n_baseline", "mean_baseline", "n_end", "mean_end", "diff", "t", "p"]
    res = pd.DataFrame(rows, columns=cols)
    res["p_holm"] = multipletests(res["p"], method="holm")[1]
    return res


def overall_change(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, float]:
    import statsmodels.formula.api as smf

    both = pd.concat([before.assign(end=0.0), after.assign(end=1.0)], ignore_index=True)
    codes = pd.factorize(both["community"])[0]
    fit = smf.ols("score ~ end", data=both).fit(cov_type="cluster", cov_kwds={"groups": codes})
    return {"change": float(fit.params["end"]), "se": float(fit.bse["end"])}


def main(argv: list[str] | None = None) -> int:
    import pingouin as pg

    p = argparse.ArgumentParser(prog="python -m benchmarks.handwritten_pipeline")
    p.add_argument("baseline", type=Path)
    p.add_argument("end", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--columns", type=Path, help="JSON mapping of file columns to item ids")
    p.add_argument("--min-n", type=int, default=10)
    args = p.parse_args(argv)
    columns = json.loads(args.columns.read_text()) if args.columns else {}
    before, after = load(args.baseline, columns), load(args.end, columns)
    summary: dict[str, float] = {}
    for wave, df in (("baseline", before), ("end", after)):
        summary[f"alpha_{wave}"] = float(pg.cronbach_alpha(data=df[ITEMS])[0])
        summary[f"icc1_{wave}"] = icc1(df)
    per = {
        w: df.groupby("community")["score"].agg(["count", "mean", "std"])
        for w, df in (("baseline", before), ("end", after))
    }
    means = per["baseline"].join(per["end"], how="outer", lsuffix="_baseline", rsuffix="_end")
    small = (means["count_baseline"].fillna(0) < args.min_n) | (
        means["count_end"].fillna(0) < args.min_n
    )
    means = means[~small]
    welch = welch_per_community(before, after, args.min_n)
    summary.update(overall_change(before, after))
    args.out.mkdir(parents=True, exist_ok=True)
    table = means.join(welch.set_index("community")[["t", "p", "p_holm"]], how="left")
    table.to_csv(args.out / "communities.csv")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pingouin's and pandas' deprecation noise
        sys.exit(main(sys.argv[1:]))
