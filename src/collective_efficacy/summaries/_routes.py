"""The sum-reducible statistics computed from a :class:`CommunitySummary` (private).

Each route takes the public function's (validated) keyword arguments and reaches the same
result builder as the row path (``alpha_frame``, ``icc_row``, ``ri_result``,
``aggregate_rows``, ``finish_waves``), so a summary and the rows give the same table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError
from collective_efficacy.instrument._keys import _range_from, parse_keys
from collective_efficacy.summaries._cells import Column, column, grouped, pairwise_cov
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["ROUTES"]


def _rows_needed(func: str, what: str) -> DataError:
    return DataError(
        f"{func}(): {what} needs the respondent rows; a CommunitySummary holds per-community "
        "sums only. Pass the data itself.",
        argument="data",
    )


def _one_label(summary: CommunitySummary, community: Any, func: str) -> str | None:
    if community is None:
        return None
    if isinstance(community, (list, tuple)):
        if len(community) != 1:
            raise _rows_needed(func, "nested communities")
        community = community[0]
    if community != summary.community:
        raise DataError(
            f"{func}(): community={community!r}, but the summary is by {summary.community!r}",
            argument="community",
        )
    return str(community)


def _same_items(
    summary: CommunitySummary, items: Any, keys: Any, scale_range: Any, func: str
) -> None:
    """Refuse items, keys or a scale range different from those the summary was made with."""
    mine = list(summary.items)
    if items is not None:
        asked = [items] if isinstance(items, str) else list(items)
        if asked != mine:
            raise DataError(
                f"{func}(): items {asked} differ from the summary's items {mine}", argument="items"
            )
    if keys is not None and not np.array_equal(parse_keys(keys, mine), summary.signs):
        raise DataError(f"{func}(): keys differ from the summary's keying", argument="keys")
    bounds = _range_from(scale_range, mine, "scale_range")
    if bounds is not None:
        rev = summary.signs < 0
        given = np.column_stack(bounds)
        if not np.array_equal(given[rev], summary.scale_range[rev]):
            raise DataError(
                f"{func}(): scale_range differs from the one the summary was keyed with",
                argument="scale_range",
            )


def cronbach_alpha(summary: CommunitySummary, **kw: Any) -> pd.DataFrame:
    from collective_efficacy.reliability import alpha_frame

    func = "cronbach_alpha"
    if kw["weight"] is not None:
        raise _rows_needed(func, "weight=")
    if kw["ci_method"] == "bootstrap":
        raise _rows_needed(func, 'ci_method="bootstrap"')
    _same_items(summary, kw["items"], kw["keys"], kw["scale_range"], func)
    label = _one_label(summary, kw["community"], func)
    gr = grouped(summary, [] if label is None else [label])
    full = (gr.n == gr.n_rows[:, None, None]).all()
    if kw["nan_policy"] == "listwise" and not full:
        raise _rows_needed(func, 'nan_policy="listwise" with missing answers')
    items = list(summary.items)
    if label is None:
        _structural(items, gr.n[0], gr.s[0], pairwise_cov(gr)[0], gr.n_answered[0], func)
    count, total, sq = gr.score
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
        var = (sq - total * np.nan_to_num(mean)) / (count - 1.0)
        sd = np.where(count >= 2, np.sqrt(np.maximum(var, 0.0)), np.nan)
    labels = None if gr.labels is None else pd.Index(gr.labels[label], name=label)
    return alpha_frame(
        items, pairwise_cov(gr), gr.n, gr.n_answered, mean, sd,
        ci=kw["ci"], ci_method=kw["ci_method"], boot=None, labels=labels, community=label,
        ci_z=kw["ci_z"],
    )  # fmt: skip


def _structural(
    items: list[str], n: np.ndarray, s: np.ndarray, cov: np.ndarray, n_ans: float, func: str
) -> None:
    """The whole-data checks of the row path (``structural_checks``), from the sums."""
    diag_n = np.diagonal(n)
    empty = [c for c, a in zip(items, diag_n) if a == 0]
    if empty:
        raise DataError(
            f"{func}: item(s) {empty} have no answers in the rows used; expected at least 2 "
            "answers per item. Drop the item(s) from `items`."
        )
    if n_ans < 2:
        raise DataError(
            f"{func} needs at least 2 respondents with answers; got {int(n_ans)} (after nan_policy)."
        )
    var = np.diagonal(cov)
    const = [
        f"{c!r} (every answer = {s[j, j] / diag_n[j]:g})"
        for j, c in enumerate(items)
        if diag_n[j] == 1 or var[j] == 0
    ]
    if const:
        raise DataError(
            f"{func}: item(s) {', '.join(const)} have no variance, so their correlations are "
            "undefined; expected items whose answers vary. Drop them from `items` "
            "(psych::alpha drops such items with a warning)."
        )


def _dv_names(dv: Any) -> list[Any]:
    return [dv] if isinstance(dv, str) else list(dv)


def _oneway(col: Column, name: Any, func: str) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """``_oneway_parts`` of the row path from per-community sums."""
    n_missing = int((col.n_rows - col.n).sum())
    n_total = float(col.n.sum())
    if n_total == 0:
        raise DataError(f"{func}: column {name!r} has no non-missing value")
    nz = col.n > 0
    nj, tot, ss = col.n[nz], col.total[nz], col.ss[nz]
    from collective_efficacy.agreement._common import check_oneway  # agreement imports this

    check_oneway(len(nj), n_total, name, func=func)
    grand = float(tot.sum()) / n_total
    sj = tot - nj * grand
    ssb = float((sj * sj / nj).sum())
    ssw_raw = float(ss.sum())
    sst = ssw_raw + ssb
    ssw = ssw_raw if ssw_raw > 1e-12 * sst else 0.0
    return nj, tot / nj, ssw, ssb, n_missing


def _no_missing(col: Column, name: Any, kw: dict[str, Any], func: str) -> None:
    if kw.get("nan_policy") == "raise" and (col.n_rows > col.n).any():
        raise DataError(
            f"{func}(): column {name!r} has {int((col.n_rows - col.n).sum())} missing value(s) "
            "and nan_policy='raise'; use nan_policy='omit' to drop those rows",
            argument="nan_policy",
        )


def icc(summary: CommunitySummary, **kw: Any) -> pd.DataFrame:
    from collective_efficacy.agreement import icc_row

    label = _one_label(summary, kw["community"], "icc")
    gr = grouped(summary, [label] if label else [])
    rows = []
    for name in _dv_names(kw["dv"]):  # loop over columns (few), never over communities
        col = column(summary, gr, name)
        _no_missing(col, name, kw, "icc")
        rows.append(icc_row(str(name), *_oneway(col, name, "icc"), ci=kw["ci"]))
    return pd.DataFrame(rows)


def group_reliability(summary: CommunitySummary, **kw: Any) -> pd.DataFrame:
    from collective_efficacy.agreement import mean_reliability

    func = "group_reliability"
    label = _one_label(summary, kw["community"], func)
    gr = grouped(summary, [label] if label else [])
    assert gr.labels is not None and label is not None
    frames = []
    for name in _dv_names(kw["dv"]):  # loop over columns (few), never over communities
        col = column(summary, gr, name)
        _no_missing(col, name, kw, func)
        n = col.n
        columns = mean_reliability(name, _oneway(col, name, func), n, func=func)
        res = gr.labels.copy()
        res["n"] = n.astype(np.int64)
        res["mean"] = col.mean
        for key, values in columns.items():
            res[key] = values
        res.insert(0, "dv", name)
        frames.append(res)
    return pd.concat(frames, ignore_index=True)


def random_intercept(summary: CommunitySummary, **kw: Any) -> Any:
    from collective_efficacy.multilevel._lmm import fit_ri_moments
    from collective_efficacy.multilevel.mixed import ri_result

    func = "random_intercept"
    dv = kw["dv"]
    names = _dv_names(dv)
    label = _one_label(summary, kw["community"], func)
    assert label is not None
    gr = grouped(summary, [label])
    if len(names) > 1:
        _same_items(summary, names, kw["keys"], kw["scale_range"], func)
        col = column(summary, gr, summary.score)
        shown = f"mean({', '.join(map(str, names))})"
    else:
        name = names[0]
        keyed = False
        if kw["keys"] is not None and name in summary.items:
            keyed = bool(parse_keys(kw["keys"], [name])[0] < 0)
        col = column(summary, gr, name, keyed=keyed)
        shown = str(dv if isinstance(dv, str) else name)
    _no_missing(col, names, kw, func)
    n_used = int(col.n.sum())
    if n_used == 0:
        raise DataError(f"dv {names} has no non-missing value; expected numeric outcomes")
    ybar = np.where(col.n > 0, col.mean, 0.0)
    fit = fit_ri_moments(col.n, ybar, float(col.ss.sum()), method=kw["method"].upper())
    assert gr.labels is not None
    return ri_result(
        fit, shown, label, gr.labels[label].tolist(), col.total,
        method=kw["method"].upper(), n_used=n_used, n_excluded=int(col.n_rows.sum()) - n_used,
    )  # fmt: skip


_AGGREGATE_RESERVED = (
    "scale",
    "n",
    "mean",
    "sd",
    "se",
    "ci_low",
    "ci_high",
    "suppressed",
    "reason",
)


def aggregate(summary: CommunitySummary, **kw: Any) -> pd.DataFrame:
    from collective_efficacy.scoring import aggregate_rows

    func = "aggregate"
    if kw["weight"] is not None or kw["design"] is not None:
        raise _rows_needed(func, "a survey design or weight")
    label = _one_label(summary, kw["community"], func)
    assert label is not None
    by = [label]
    if kw["wave"] is not None:
        if kw["wave"] != summary.wave:
            raise DataError(
                f"{func}(): wave={kw['wave']!r}, but the summary's wave column is {summary.wave!r}",
                argument="wave",
            )
        by.append(str(kw["wave"]))
    for arg, col_name in zip(("community", "wave"), by):
        if col_name in _AGGREGATE_RESERVED:
            raise DataError(
                f"the {arg} column is named {col_name!r}, which aggregate() uses for a result "
                "column; rename it",
                argument=arg,
            )
    gr = grouped(summary, by)
    assert gr.labels is not None
    labels = {c: gr.labels[c].to_numpy() for c in by}
    names = [summary.score] if kw["columns"] is None else _dv_names(kw["columns"])
    frames = []
    for name in names:  # loop over scales (few), never over communities
        col = column(summary, gr, name)
        n = col.n.astype(np.int64)
        frames.append(aggregate_rows(str(name), n, col.mean, col.ss, labels,
                                     min_n=kw["min_n"], ci=kw["ci"]))  # fmt: skip
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(by + ["scale"], kind="stable", ignore_index=True)


ROUTES = {
    "cronbach_alpha": cronbach_alpha,
    "icc": icc,
    "group_reliability": group_reliability,
    "random_intercept": random_intercept,
    "aggregate": aggregate,
}
