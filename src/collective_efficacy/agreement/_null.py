"""Null (no-agreement) response distributions for rwg / rwg(j): expected variances, response-scale
checks and the simulated null distribution of rwg(j) (as R ``multilevel::rwg.j.sim``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError

__all__ = [
    "NAMED_NULL_VARIANCES_5PT",
    "check_scale",
    "null_summary",
    "resolve_options",
    "resolve_ranvar",
    "simulate_rwg_j",
]

#: Expected error variances of named null distributions for a 5-point scale, as tabulated by
#: LeBreton & Senter (2008, Table 3), after James, Demaree & Wolf (1984). "uniform" is
#: (A^2 - 1) / 12 = 2.0 for A = 5.
NAMED_NULL_VARIANCES_5PT: dict[str, float] = {
    "uniform": 2.00,
    "slight_skew": 1.34,
    "moderate_skew": 0.90,
    "heavy_skew": 0.44,
    "triangular": 1.32,
    "normal": 1.04,
}


def resolve_options(
    n_options: int | None, options: Any, *, func: str
) -> tuple[int | None, np.ndarray | None]:
    """Number of response options A and (if known) the allowed codes.

    ``n_options=A`` means codes ``1..A``. ``options`` may be an int (same as ``n_options``), a
    sequence of the allowed codes (e.g. ``range(0, 5)`` for a 0-4 scale) or an object with an
    ``n_options`` attribute (and optionally ``codes``/``values``), such as an instrument's
    response options.
    """
    codes: np.ndarray | None = None
    a_opt: int | None = None
    if options is not None:
        if isinstance(options, (bool, np.bool_)):
            raise DataError(
                f"options of {func} must be an int or a sequence of codes; got {options!r}"
            )
        if isinstance(options, (int, np.integer)):
            a_opt = int(options)
        elif hasattr(options, "n_options"):
            a_opt = int(options.n_options)
            for attr in ("codes", "values"):
                vals = getattr(options, attr, None)
                if vals is not None and not callable(vals):
                    codes = np.asarray(list(vals), dtype=np.float64)
                    break
        elif isinstance(options, (Sequence, range, np.ndarray, pd.Index)) and not isinstance(
            options, str
        ):
            codes = np.asarray(list(options), dtype=np.float64)
            if codes.ndim != 1 or len(codes) < 2 or len(np.unique(codes)) != len(codes):
                raise DataError(
                    f"options of {func} must list at least two distinct response codes; "
                    f"got {options!r}"
                )
            a_opt = len(codes)
        else:
            raise DataError(
                f"options of {func} must be an int, a sequence of response codes or an object "
                f"with an 'n_options' attribute; got {type(options).__name__}"
            )
    if n_options is not None:
        if isinstance(n_options, (bool, np.bool_)) or not isinstance(n_options, (int, np.integer)):
            raise DataError(f"n_options of {func} must be an integer >= 2; got {n_options!r}")
        if a_opt is not None and a_opt != int(n_options):
            raise DataError(
                f"n_options={n_options} and options (A={a_opt}) of {func} disagree; give one"
            )
        a_opt = int(n_options)
    if a_opt is not None and a_opt < 2:
        raise DataError(f"the number of response options of {func} must be >= 2; got {a_opt}")
    if a_opt is not None and codes is None:
        codes = np.arange(1, a_opt + 1, dtype=np.float64)
    return a_opt, codes


def resolve_ranvar(ranvar: float | str, n_options: int | None, *, func: str) -> float:
    """The expected error variance sigma^2_EU of the null distribution."""
    if isinstance(ranvar, str):
        if ranvar not in NAMED_NULL_VARIANCES_5PT:
            raise DataError(
                f"ranvar of {func} must be a positive number or one of "
                f"{list(NAMED_NULL_VARIANCES_5PT)}; got {ranvar!r}"
            )
        if n_options is None:
            raise DataError(
                f"ranvar={ranvar!r} in {func} needs the number of response options: pass "
                "n_options=A (e.g. n_options=5), options=..., or a numeric ranvar"
            )
        if ranvar == "uniform":
            return (n_options**2 - 1) / 12.0
        if n_options != 5:
            raise DataError(
                f"ranvar={ranvar!r} in {func}: the named skewed null variances are tabulated for "
                f"5-point scales only (LeBreton & Senter 2008); got n_options={n_options}. "
                "Pass a numeric ranvar instead."
            )
        return NAMED_NULL_VARIANCES_5PT[ranvar]
    if isinstance(ranvar, (bool, np.bool_)) or not isinstance(ranvar, (int, float, np.number)):
        raise DataError(f"ranvar of {func} must be a positive number or a name; got {ranvar!r}")
    value = float(ranvar)
    if not np.isfinite(value) or value <= 0:
        raise DataError(f"ranvar of {func} must be a positive finite number; got {ranvar!r}")
    return value


def check_scale(
    x: np.ndarray, codes: np.ndarray, data: pd.DataFrame, items: Sequence[str], *, func: str
) -> None:
    """Raise if any non-missing response is not one of the allowed codes (all items listed)."""
    bad_msgs: list[str] = []
    for j, item in enumerate(items):
        v = x[j]
        bad = ~np.isnan(v) & ~np.isin(v, codes)
        if bad.any():
            idx = np.flatnonzero(bad)
            vals = [f"{float(v[i]):g}" for i in idx[:5]]
            more = " ..." if len(idx) > 5 else ""
            bad_msgs.append(
                f"column {item!r}: {len(idx)} value(s) outside the response scale, "
                f"e.g. at {rows_in(data, idx)}: [{', '.join(vals)}]{more}"
            )
    if bad_msgs:
        lo, hi = float(codes.min()), float(codes.max())
        raise DataError(
            f"{func}: " + "; ".join(bad_msgs) + f"; expected one of the {len(codes)} response "
            f"codes {_fmt_codes(codes) if len(codes) <= 11 else f'{lo:g}..{hi:g}'} (or missing). "
            "Check the coding, or pass options=[...] with the codes actually used."
        )


def _fmt_codes(codes: np.ndarray) -> str:
    return "[" + ", ".join(f"{float(c):g}" for c in codes) + "]"


def simulate_rwg_j(
    n: int,
    n_items: int,
    n_options: int,
    n_sim: int,
    rng: np.random.Generator,
    *,
    chunk_cells: int = 4_000_000,
) -> np.ndarray:
    """``n_sim`` draws of rwg(j) for groups of ``n`` uniform random responders (vectorised)."""
    ranvar = (n_options**2 - 1) / 12.0
    out = np.empty(n_sim, dtype=np.float64)
    per = max(1, chunk_cells // (n * n_items))
    for start in range(0, n_sim, per):  # chunks of simulations (memory guard), not groups
        m = min(per, n_sim - start)
        x = rng.integers(1, n_options + 1, size=(m, n, n_items)).astype(np.float64)
        s = x.var(axis=1, ddof=1).mean(axis=1)
        s = np.minimum(s, ranvar)
        r = s / ranvar
        out[start : start + m] = n_items * (1 - r) / (n_items * (1 - r) + r)
    return out


def null_summary(draws: np.ndarray, quantiles: Sequence[float]) -> pd.DataFrame:
    """Quantiles of simulated rwg(j) draws, two ways (see :func:`rwg_j_null`)."""
    q = np.asarray(list(quantiles), dtype=np.float64)
    values = np.quantile(draws, q, method="inverted_cdf")
    uniq, counts = np.unique(draws, return_counts=True)
    cum = np.cumsum(counts / len(draws))  # as R: cumsum(table(x) / length(x))
    # multilevel::quantile.agree.sim: the distinct value after the first one whose cumulative
    # proportion reaches the level (NaN if there is none)
    first = np.searchsorted(cum, q, side="left")
    nxt = first + 1
    ml = np.where(nxt < len(uniq), uniq[np.minimum(nxt, len(uniq) - 1)], np.nan)
    return pd.DataFrame({"quantile": q, "rwg_j": values, "rwg_j_multilevel": ml})
