r"""Survey weights and design-based standard errors (R ``survey`` parity).

A :class:`SurveyDesign` names the columns of a one-stage sample design: a weight per respondent,
optionally strata, clusters (primary sampling units, PSUs) and a finite population correction.
:func:`domain_means` computes weighted community (domain) means with Taylor-linearisation
standard errors exactly as ``survey::svyby(~score, ~community, design, svymean)`` does; the
weighted change between two waves (``svyglm(score ~ wave)`` overall, the difference of
independent domain means per community) builds on it. Everything is computed for all
communities at once (``np.bincount`` over community codes; no loop over communities).

The public entry points are ``aggregate(..., weight=/design=)`` and
``compare_waves(..., weight=/design=)``; the functions here are what they dispatch to.

Notes
-----
**Domain mean** (ratio estimator) of community :math:`d`, with :math:`I_{di}` the indicator
"row :math:`i` is in :math:`d` and has a score":

.. math::

    \hat\mu_d = \frac{\sum_i w_i I_{di} y_i}{\sum_i w_i I_{di}},\qquad
    z_{di} = \frac{w_i I_{di} (y_i - \hat\mu_d)}{\sum_i w_i I_{di}}

(the linearised influence of each row). With PSU totals :math:`z_{dhj} = \sum_{i\in(h,j)} z_{di}`
over the :math:`n_h` PSUs of stratum :math:`h` (each respondent is its own PSU without
clusters), the variance is that of a with-replacement estimator of a total over the whole
sample, the community being a domain:

.. math::

    \widehat{V}(\hat\mu_d) = \sum_h (1-f_h)\,\frac{n_h}{n_h-1}
    \sum_j \left(z_{dhj} - \bar z_{dh}\right)^2,

with :math:`f_h = n_h / N_h` (``fpc`` a population count of PSUs per stratum) or ``fpc`` itself
(a sampling fraction :math:`\le 1`); without ``fpc`` :math:`f_h = 0`.
Kish's effective sample size is :math:`n_{eff} = (\sum w)^2/\sum w^2`; the design effect is
``survey``'s ``deff=TRUE``: :math:`\widehat V / \widehat V_{srs}` with
:math:`\widehat V_{srs} = s^2_w (W_d - n_d) / (W_d n_d)` (NaN when :math:`W_d < n_d`: the
weights are not scaled to a population) and :math:`s^2_w` the weighted variance
(``svyvar``: :math:`\frac{n_d}{n_d-1}\sum w (y-\hat\mu_d)^2 / W_d`).

Clusters are taken as nested in strata (``svydesign(..., nest=TRUE)``). Multi-stage designs,
replicate weights and calibrated-design variances (``postStratify``'s SE adjustment) are out of
scope: calibrated weights (:func:`collective_efficacy.calibrate`) enter as fixed weights.

References
----------
.. [1] Lumley, T. (2004). Analysis of complex survey samples. Journal of Statistical Software,
   9(8), 1-19.
.. [2] Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
.. [3] Kish, L. (1965). Survey Sampling. Wiley.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from collective_efficacy import _dist
from collective_efficacy._groups import factorize_groups
from collective_efficacy._moments import weighted_group_moments
from collective_efficacy._params import COLUMN, InstanceOf
from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError

__all__ = ["SurveyDesign"]

LonelyPSU = Literal["fail", "remove", "certainty", "adjust"]
_P = ParamSpec("_P")
_R = TypeVar("_R")


def refuses_weights(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorator for the multilevel models: ``weight=`` / ``design=`` raise a clear error.

    Weights in a multilevel model are level-specific (a respondent's weight given its community
    and a community's weight), as WeMix or svylme need; a single respondent weight does not
    give design-consistent variance components. That is future work.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = [k for k in ("weight", "design") if kwargs.get(k) is not None]
        if given:
            raise DataError(
                f"{func.__name__} does not take survey weights ({given[0]}=): weights in a "
                "multilevel model are level-specific (respondents within a community, and "
                "communities), which needs pseudo-likelihood estimation as in WeMix or svylme "
                "(future work). For design-based community means and change use "
                "aggregate(..., weight=...) and compare_waves(..., weight=...); or fit this "
                "model unweighted and report it as such.",
                argument=given[0],
            )
        kwargs.pop("weight", None)
        kwargs.pop("design", None)
        return func(*args, **kwargs)

    return wrapper


class SurveyDesign(BaseModel):
    """A one-stage survey design: weight, strata, clusters and finite population correction.

    Attributes
    ----------
    weight : str, optional
        Column of sampling (or calibrated) weights: numeric, finite, > 0. None: every
        respondent weighs 1.
    strata : str, optional
        Stratum column.
    cluster : str, optional
        Primary sampling unit (PSU) column; PSUs are nested in strata (``nest=TRUE``).
    fpc : str, optional
        Finite population correction as ``survey`` takes it: per row, the population count of
        PSUs in its stratum (> 1) or the sampling fraction (<= 1); constant within a stratum.
    lonely_psu : {"fail", "remove", "certainty", "adjust"}, default="fail"
        A stratum with a single PSU, as ``options(survey.lonely.psu=)``: "fail" raises (R's
        default); "remove" and "certainty" let it contribute nothing to the variance; "adjust"
        centres it at zero (the grand mean of the influence values) instead of its own mean.

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> d = ce.SurveyDesign(weight="w", strata="region", cluster="block")
    >>> d.columns()
    ['w', 'region', 'block']
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    weight: str | None = None
    strata: str | None = None
    cluster: str | None = None
    fpc: str | None = None
    lonely_psu: LonelyPSU = "fail"

    def columns(self) -> list[str]:
        """The design's columns, in the order weight, strata, cluster, fpc."""
        cols = (self.weight, self.strata, self.cluster, self.fpc)
        return [c for c in cols if c is not None]


#: The declared constraints of ``weight=`` / ``design=`` (the functions that take a design).
WEIGHTING: dict[str, list[Any]] = {
    "weight": [COLUMN, None],
    "design": [InstanceOf(SurveyDesign, description="a SurveyDesign", example=SurveyDesign), None],
}


def resolve_design(weight: Any, design: Any) -> SurveyDesign | None:
    """``weight="col"`` is short for ``SurveyDesign(weight="col")``; both at once must agree."""
    if design is not None and not isinstance(design, SurveyDesign):
        raise DataError(
            f"design must be a collective_efficacy.SurveyDesign; got {type(design).__name__}",
            argument="design",
        )
    if weight is not None and not isinstance(weight, str):
        raise DataError(f"weight must be a column name; got {weight!r}", argument="weight")
    if design is None:
        return None if weight is None else SurveyDesign(weight=weight)
    if weight is not None and weight != design.weight:
        raise DataError(
            f"weight={weight!r} and design.weight={design.weight!r} disagree; pass one of them",
            argument="weight",
        )
    return design


def weight_values(data: pd.DataFrame, column: str | None) -> np.ndarray:
    """The weight column as float64, refusing text, missing, infinite, zero or negative weights.

    ``ce.validate(..., weight=)`` excludes such rows with a reason; statistics functions refuse
    them so that no row is silently dropped.
    """
    if column is None:
        return np.ones(len(data))
    if column not in data.columns:
        raise DataError(
            f"weight column {column!r} not found; available columns: {list(map(str, data.columns))}",
            argument="weight",
        )
    s = data[column]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise DataError(
            f"weight column {column!r} is not numeric (dtype {s.dtype}); expected positive "
            "numbers. ce.validate(..., weight=...) converts it and excludes rows it cannot read.",
            argument="weight",
        )
    w = s.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        vals = list(s[bad].iloc[:5])
        raise DataError(
            f"weight column {column!r} has {int(bad.sum())} missing, infinite, zero or negative "
            f"weight(s) at {rows_in(data, bad)}: {vals}; expected finite numbers > 0. "
            "ce.validate(..., weight=...) excludes such rows with a reason.",
            argument="weight",
        )
    return w


def checked_weights(data: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """``validate(weight=)``: the weights as float (numeric text read, decimal comma too) and
    the mask of rows whose weight is missing, unreadable, infinite, zero or negative."""
    from collective_efficacy.errors import ResponseValidationError

    if column not in data.columns:
        raise ResponseValidationError(
            f"weight column {column!r} not found; available columns: {list(map(str, data.columns))}"
        )
    s = data[column]
    if pd.api.types.is_bool_dtype(s):
        w = np.full(len(s), np.nan)
    elif pd.api.types.is_numeric_dtype(s):
        w = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = s.astype("string").str.strip().str.replace(",", ".", regex=False)
        w = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(w) | ~(w > 0)
    return np.where(bad, np.nan, w), bad


@dataclass(frozen=True)
class DesignArrays:
    """Row-level design: weights, stratum and PSU codes and the per-stratum variance factors."""

    w: np.ndarray  # (n,)
    stratum: np.ndarray  # (n,) codes 0..H-1
    psu: np.ndarray | None  # (n,) codes 0..P-1 (nested in strata), None: each row its own PSU
    psu_stratum: np.ndarray | None  # (P,) stratum of each PSU
    scale: np.ndarray  # (H,) (1 - f_h) n_h / (n_h - 1), or the lonely-PSU rule
    centre: np.ndarray  # (H,) scale_h / n_h (0 where a lonely PSU is not centred)
    n_strata: int


def design_arrays(data: pd.DataFrame, design: SurveyDesign) -> DesignArrays:
    """Codes and variance factors of ``design`` on ``data`` (validated; no row dropped)."""
    n = len(data)
    w = weight_values(data, design.weight)
    if design.strata is not None:
        stratum = _codes(data, design.strata, "strata")
    else:
        stratum = np.zeros(n, dtype=np.int64)
    n_strata = int(stratum.max()) + 1 if n else 1
    psu: np.ndarray | None = None
    psu_stratum: np.ndarray | None = None
    if design.cluster is not None:
        cl = _codes(data, design.cluster, "cluster")
        psu, psu_key = _compact(stratum * (int(cl.max()) + 1) + cl)
        psu_stratum = (psu_key // (int(cl.max()) + 1)).astype(np.int64)
        n_h = np.bincount(psu_stratum, minlength=n_strata).astype(np.float64)
    else:
        n_h = np.bincount(stratum, minlength=n_strata).astype(np.float64)
    f = _fpc_factor(data, design, stratum, n_h, n_strata)
    scale, centre = _lonely_rule(data, design, stratum, n_h, f)
    return DesignArrays(w, stratum, psu, psu_stratum, scale, centre, n_strata)


def _codes(data: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """Integer codes of a design column (order irrelevant: hash-based, no sort)."""
    if column not in data.columns:
        raise DataError(
            f"{what} column {column!r} not found; available columns: "
            f"{list(map(str, data.columns))}",
            argument="design",
        )
    col = data[column]
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu":
        v = col.to_numpy(dtype=np.int64)  # no missing values in a numpy integer column
        return _compact(v - v.min() if len(v) else v)[0]
    codes, _ = pd.factorize(col, sort=False, use_na_sentinel=True)
    if (codes < 0).any():
        raise DataError(
            f"{what} column {column!r} has missing values at {rows_in(data, codes < 0)}; "
            f"expected a {what} label on every row",
            argument="design",
        )
    return np.asarray(codes, dtype=np.int64)


def _fpc_factor(
    data: pd.DataFrame, design: SurveyDesign, stratum: np.ndarray, n_h: np.ndarray, n_strata: int
) -> np.ndarray:
    """``1 - f_h`` per stratum (1 without fpc), as ``survey``'s ``as.fpc``."""
    if design.fpc is None:
        return np.ones(n_strata)
    col = design.fpc
    if col not in data.columns or not pd.api.types.is_numeric_dtype(data[col]):
        raise DataError(f"fpc column {col!r} must be a numeric column of data", argument="fpc")
    v = data[col].to_numpy(dtype=np.float64, na_value=np.nan)
    if (~np.isfinite(v) | (v <= 0)).any():
        bad = ~np.isfinite(v) | (v <= 0)
        raise DataError(
            f"fpc column {col!r} has missing or non-positive values at {rows_in(data, bad)}",
            argument="fpc",
        )
    lo = np.full(n_strata, np.inf)
    hi = np.full(n_strata, -np.inf)
    np.minimum.at(lo, stratum, v)
    np.maximum.at(hi, stratum, v)
    if (hi - lo > 1e-9 * np.abs(hi)).any():
        raise DataError(f"fpc column {col!r} must be constant within each stratum", argument="fpc")
    if (v <= 1).all():
        return 1.0 - hi  # sampling fractions
    if (v <= 1).any():
        raise DataError(
            f"fpc column {col!r} mixes sampling fractions (<= 1) and population counts (> 1)",
            argument="fpc",
        )
    if (hi < n_h).any():
        raise DataError(
            f"fpc column {col!r}: a population count is smaller than the number of sampled "
            "PSUs in its stratum",
            argument="fpc",
        )
    return (hi - n_h) / hi


def _lonely_rule(
    data: pd.DataFrame, design: SurveyDesign, stratum: np.ndarray, n_h: np.ndarray, f: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    lonely = n_h == 1
    if lonely.any() and design.lonely_psu == "fail":
        first = int(np.flatnonzero(lonely)[0])
        rows = rows_in(data, stratum == first)
        raise DataError(
            f"a stratum has only one PSU ({rows}); its variance cannot be estimated. Pass "
            "SurveyDesign(..., lonely_psu='remove' | 'certainty' | 'adjust') as R's "
            "options(survey.lonely.psu=) does, or merge strata.",
            argument="design",
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(lonely, f, f * n_h / (n_h - 1.0))
        centre = np.where(n_h > 0, scale / np.maximum(n_h, 1.0), 0.0)
    if design.lonely_psu in ("remove", "certainty"):
        scale = np.where(lonely, 0.0, scale)
        centre = np.where(lonely, 0.0, centre)
    else:  # adjust: the lonely PSU is centred at 0, not at its own total
        centre = np.where(lonely, 0.0, centre)
    return scale, centre


def _compact(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``0..K-1`` of the distinct int64 keys and the keys (dense or hash-based, no sort)."""
    if len(key) and int(key.max()) < 8 * len(key) + 1024:  # dense: at most 64 B per row
        present = np.bincount(key) > 0
        return (np.cumsum(present) - 1)[key], np.flatnonzero(present)
    codes, uniques = pd.factorize(key, sort=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=np.int64)


def domain_variance(z: np.ndarray, domain: np.ndarray, da: DesignArrays, n_dom: int) -> np.ndarray:
    """Linearisation variance of each domain's estimator from row influences ``z``.

    ``sum_h scale_h * sum_j z_dhj^2 - centre_h * (sum_j z_dhj)^2`` per domain ``d``, PSU totals
    ``z_dhj`` over (domain, PSU) pairs found by sorting (never a dense domains x PSUs array).
    """
    if da.psu is None:
        tot, pair_d, pair_h = z, domain, da.stratum
    else:
        assert da.psu_stratum is not None
        n_psu = len(da.psu_stratum)
        first = np.empty(n_psu, dtype=np.int64)
        first[da.psu[::-1]] = np.arange(len(z) - 1, -1, -1)  # first row of each PSU
        if np.array_equal(domain[first][da.psu], domain):  # every PSU lies in one domain
            tot = np.bincount(da.psu, weights=z, minlength=n_psu)
            pair_d, pair_h = domain[first], da.psu_stratum
        else:
            inv, key = _compact(domain * n_psu + da.psu)
            tot = np.bincount(inv, weights=z)
            pair_d = key // n_psu
            pair_h = da.psu_stratum[key % n_psu]
    sq = np.bincount(pair_d, weights=da.scale[pair_h] * tot * tot, minlength=n_dom)
    if da.n_strata == 1:
        s = np.bincount(pair_d, weights=tot, minlength=n_dom)
        return np.maximum(sq - da.centre[0] * s * s, 0.0)
    inv2, key2 = _compact(pair_d * da.n_strata + pair_h)
    s = np.bincount(inv2, weights=tot)
    cross = np.bincount(
        key2 // da.n_strata, weights=da.centre[key2 % da.n_strata] * s * s, minlength=n_dom
    )
    return np.maximum(sq - cross, 0.0)


@dataclass(frozen=True)
class DomainMeans:
    """Per-domain weighted statistics (all shape (n_domains,))."""

    n: np.ndarray
    sum_weights: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    se: np.ndarray
    n_eff: np.ndarray
    deff: np.ndarray


def domain_means(y: np.ndarray, domain: np.ndarray, n_dom: int, da: DesignArrays) -> DomainMeans:
    """``svyby(~y, ~domain, design, svymean, deff=TRUE, na.rm=TRUE)`` for all domains at once.

    Rows with a missing ``y`` stay in the design (they count in ``n_h``) with zero influence, as
    ``survey``'s ``na.rm=TRUE`` subset does.
    """
    ok = ~np.isnan(y)
    wm = weighted_group_moments(y, da.w, domain, n_dom)
    n, wsum, w2, mean = wm.n, wm.wsum, wm.w2, wm.mean
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(ok, da.w, 0.0) * wm.dev / wsum[domain]
        var = domain_variance(np.where(ok, z, 0.0), domain, da, n_dom)
        s2 = wm.ss / wsum * n / (n - 1.0)
        vsrs = np.where(wsum >= n, s2 * (wsum - n) / (wsum * n), np.nan)
        deff = var / vsrs
        n_eff = wsum * wsum / w2
    empty = n == 0
    var[empty] = np.nan
    return DomainMeans(
        n=n,
        sum_weights=wsum,
        mean=mean,
        sd=np.sqrt(s2),
        se=np.sqrt(var),
        n_eff=np.where(empty, np.nan, n_eff),
        deff=deff,
    )


def reasons(mask: np.ndarray, text: str) -> pd.Series:
    """``text`` where ``mask``, else None (an empty reason is missing, never "")."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = text
    return pd.Series(out, dtype="object")


def design_df(used: np.ndarray, da: DesignArrays) -> int:
    """``survey::degf``: PSUs minus strata among the rows with a nonzero weight and a value."""
    psu = da.psu if da.psu is not None else np.arange(len(da.w))
    n_psu = len(np.unique(psu[used]))
    return int(n_psu - len(np.unique(da.stratum[used])))


def weighted_aggregate(
    scores: pd.DataFrame,
    *,
    community: str,
    wave: str | None,
    columns: list[str],
    design: SurveyDesign,
    min_n: int,
    ci: float,
) -> pd.DataFrame:
    """Weighted :func:`collective_efficacy.aggregate` (see its docstring; called from there)."""
    from collective_efficacy._checks import numeric_matrix

    da = design_arrays(scores, design)
    gc = factorize_groups(scores, community, what="community")
    if wave:
        gw = factorize_groups(scores, wave, what="wave")
        n_w = gw.n_groups
        comb = gc.codes * n_w + gw.codes
        present = np.bincount(comb, minlength=gc.n_groups * n_w) > 0
        codes = (np.cumsum(present) - 1)[comb]
        cells = np.flatnonzero(present)
        labels = {
            community: gc.labels.to_numpy()[cells // n_w],
            wave: gw.labels.to_numpy()[cells % n_w],
        }
    else:
        codes, cells = gc.codes, np.arange(gc.n_groups)
        labels = {community: gc.labels.to_numpy()}
    x = numeric_matrix(scores, columns)
    z = float(_dist.norm_ppf(0.5 + ci / 2))
    frames = []
    for j, name in enumerate(columns):  # loop over scales (few), never over communities
        dm = domain_means(x[:, j], codes, len(cells), da)
        sup = dm.n < min_n
        few = dm.n < 2
        stats = {
            "mean": dm.mean,
            "sd": np.where(few, np.nan, dm.sd),
            "se": dm.se,
            "ci_low": dm.mean - z * dm.se,
            "ci_high": dm.mean + z * dm.se,
        }
        extra = {"sum_weights": dm.sum_weights, "n_eff": dm.n_eff,
                 "deff": np.where(few, np.nan, dm.deff)}  # fmt: skip
        # suppressed cells: every statistic missing (masked here, not through .loc per column)
        hide = {c: np.where(sup, np.nan, v) for c, v in (stats | extra).items()}
        res = pd.DataFrame(
            {"scale": name, "n": dm.n, **{c: hide[c] for c in stats}, "confidence": ci,
             **{c: hide[c] for c in extra}}
        )  # fmt: skip
        res["suppressed"] = sup
        res["reason"] = reasons(sup, f"fewer than {min_n} respondents")
        for pos, (col, lab) in enumerate(labels.items()):
            res.insert(pos, col, lab)
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values([*labels, "scale"], kind="stable", ignore_index=True)
