"""Bundled example data and the documented simulator that made it.

The example is fictional: a two-wave survey (baseline = ``nulmeting``, end of cycle =
``eindmeting``) of the ten Sampson (1997) items in about 40 communities of varied size, with
Dutch-style column names and a few dirty cells, as real survey exports have.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError

__all__ = [
    "EXAMPLE_COLUMNS",
    "SimulatedSurvey",
    "load_example",
    "load_example_assessments",
    "load_example_geometry",
    "simulate",
]

#: The example files' column names -> item ids of the ``sampson1997`` instrument.
EXAMPLE_COLUMNS: dict[str, str] = {
    "v01_buurt_hecht": "SC1",
    "v02_buren_helpen": "SC2",
    "v03_niet_overweg": "SC3",
    "v04_geen_waarden": "SC4",
    "v05_vertrouwen": "SC5",
    "v06_spijbelen": "ISC1",
    "v07_graffiti": "ISC2",
    "v08_respectloos": "ISC3",
    "v09_vechtpartij": "ISC4",
    "v10_brandweer": "ISC5",
}
_REVERSED = {"SC3", "SC4"}


@dataclass(frozen=True)
class SimulatedSurvey:
    """A simulated survey and the true parameters it was drawn from."""

    data: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)
    communities: pd.DataFrame = field(default_factory=pd.DataFrame)


def simulate(
    n_communities: int = 40,
    *,
    mean_size: float = 30.0,
    tau_between: float = 0.35,
    tau_person: float = 0.55,
    sigma_item: float = 0.75,
    mean_change: float = 0.15,
    sd_change: float = 0.15,
    panel_share: float = 0.0,
    dirty: bool = True,
    seed: int = 2026,
) -> SimulatedSurvey:
    r"""Simulate a two-wave neighbourhood survey of the ``sampson1997`` items.

    Model (on the 1-5 response scale, before rounding and clipping):

    .. math:: y_{ijkt} = 3 + \delta_i + u_k + c_k t + r_{jk} + e_{ijkt}

    with community effects :math:`u_k \sim N(0, \tau_\beta)` (``tau_between`` is the SD),
    community change :math:`c_k \sim N(\mu_c, \sigma_c)`, resident effects
    :math:`r_{jk} \sim N(0, \tau_\pi)` and item noise :math:`e \sim N(0, \sigma)`; item
    difficulties :math:`\delta_i` fixed. Reverse-worded items (SC3, SC4) are stored reversed
    (6 - y). Community sizes per wave are negative binomial with mean ``mean_size`` (at least 3).
    With ``panel_share`` > 0 a panel: in each community the first
    ``round(panel_share * min(n_baseline, n_end))`` end-of-cycle respondents are baseline
    respondents interviewed again (same ``respondent_id``, same resident effect
    :math:`r_{jk}`, fresh item noise); the others are new residents. ``panel_share=0`` (the
    default) gives two independent cross-sections, draw for draw as before.
    With ``dirty=True`` about 1 % of cells become missing codes 8/9, a few become answer labels
    in Dutch, one becomes out of range (7) and one row lacks its community.

    Returns
    -------
    SimulatedSurvey
        ``.data`` (long: one row per respondent and wave, columns ``respondent_id``, ``buurt``,
        ``meting`` and the ``EXAMPLE_COLUMNS``), ``.truth`` (the parameters) and
        ``.communities`` (true community effects and changes).
    """
    if not 0.0 <= float(panel_share) <= 1.0:
        raise DataError(
            f"panel_share must be a share in [0, 1]; got {panel_share!r}", argument="panel_share"
        )
    rng = np.random.default_rng(seed)
    names = [f"Buurt {chr(65 + k % 26)}{k // 26 + 1}" for k in range(n_communities)]
    u = rng.normal(0, tau_between, n_communities)
    change = rng.normal(mean_change, sd_change, n_communities)
    difficulty = np.array([0.1, 0.2, 0.0, -0.2, 0.0, -0.1, 0.1, -0.3, 0.2, -0.2])
    rows = []
    next_id = 1
    first: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # baseline sizes, r, ids
    for t, label in enumerate(["nulmeting", "eindmeting"]):
        sizes = rng.negative_binomial(3, 3 / (3 + mean_size), n_communities) + 3
        comm = np.repeat(np.arange(n_communities), sizes)
        n = len(comm)
        r = rng.normal(0, tau_person, n)
        ids = np.array([f"R{t}{i:05d}" for i in range(next_id, next_id + n)], dtype=object)
        if first is None:
            first = (sizes, r, ids)
        elif panel_share > 0:  # re-interviewed residents: positions < n_panel in each community
            sizes0, r0, ids0 = first
            n_panel = np.rint(panel_share * np.minimum(sizes0, sizes)).astype(np.int64)
            starts0 = np.concatenate([[0], np.cumsum(sizes0)[:-1]])
            starts1 = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            position = np.arange(n) - starts1[comm]
            panel = position < n_panel[comm]
            source = (starts0[comm] + position)[panel]
            r[panel] = r0[source]
            ids[panel] = ids0[source]
        latent = 3.0 + u[comm] + change[comm] * t + r
        y = latent[:, None] + difficulty[None, :] + rng.normal(0, sigma_item, (n, 10))
        y = np.clip(np.rint(y), 1, 5)
        items = list(EXAMPLE_COLUMNS.values())
        for j, it in enumerate(items):
            if it in _REVERSED:
                y[:, j] = 6 - y[:, j]
        frame = pd.DataFrame(y.astype(int), columns=list(EXAMPLE_COLUMNS))
        frame.insert(0, "meting", label)
        frame.insert(0, "buurt", np.array(names, dtype=object)[comm])
        frame.insert(0, "respondent_id", ids)
        next_id += n
        rows.append(frame)
    data = pd.concat(rows, ignore_index=True)
    if dirty:
        data = _make_dirty(data, rng)
    truth = {
        "tau_between_sd": tau_between,
        "tau_person_sd": tau_person,
        "sigma_item_sd": sigma_item,
        "mean_change": mean_change,
        "sd_change": sd_change,
        "item_difficulty": dict(zip(EXAMPLE_COLUMNS.values(), difficulty.tolist())),
        "panel_share": float(panel_share),
        "seed": seed,
    }
    communities = pd.DataFrame({"buurt": names, "effect": u, "change": change})
    return SimulatedSurvey(data=data, truth=truth, communities=communities)


def _make_dirty(data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Missing codes 8/9 in 1% of the cells, six answer labels, one out-of-range 7, one blank
    community (the ``dirty=True`` problems of :func:`simulate`)."""
    data = data.astype({c: object for c in EXAMPLE_COLUMNS})
    cells = rng.random((len(data), 10)) < 0.01
    codes = rng.choice([8, 9], size=cells.sum())
    arr = data[list(EXAMPLE_COLUMNS)].to_numpy()
    arr[cells] = codes
    labels = ["Mee eens", "helemaal mee eens", "Waarschijnlijk ", "mee oneens"]
    pick = rng.choice(len(data), size=6, replace=False)
    for k, i in enumerate(pick):
        j = 1 if k % 2 == 0 else 6
        arr[i, j] = labels[k % len(labels)] if j == 1 else "Waarschijnlijk "
    arr[rng.integers(len(data)), 4] = 7
    data[list(EXAMPLE_COLUMNS)] = arr
    data.loc[rng.integers(len(data)), "buurt"] = None
    return data


def load_example(split: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled example survey (fictional), as shipped in the package.

    Parameters
    ----------
    split : bool, default=False
        Return ``(baseline, end_of_cycle)`` frames instead of one long frame.

    Returns
    -------
    DataFrame (or two)
        Columns ``respondent_id``, ``buurt``, ``meting`` (``nulmeting`` / ``eindmeting``) and
        the raw answers (see :data:`EXAMPLE_COLUMNS`), including a few dirty cells. It equals
        ``simulate().data`` written to CSV and read back.

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> df = ce.datasets.load_example()
    >>> sorted(df["meting"].unique())
    ['eindmeting', 'nulmeting']
    """
    before, after = _example_waves()
    if split:  # copies: the caller's frames are its own
        return before.copy(), after.copy()
    return pd.concat([before, after], ignore_index=True)  # new arrays


@functools.cache
def _example_waves() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two example files read once per process (20 ms each time, for every example
    evaluation and the CLI's ``--example``); never handed out, only copies of them."""
    base = resources.files("collective_efficacy.datasets.data")
    before = pd.read_csv(
        io.StringIO((base / "example_nulmeting.csv").read_text(encoding="utf-8")),
        dtype=str,
        keep_default_na=False,
    )
    after = pd.read_csv(
        io.StringIO((base / "example_eindmeting.csv").read_text(encoding="utf-8")),
        dtype=str,
        keep_default_na=False,
    )
    return before.replace("", None), after.replace("", None)


# -- example data -----------------------------------------------------------------------------
def load_example_assessments() -> pd.DataFrame:
    """The bundled fictional programme assessments of the example communities.

    Columns ``buurt``, ``meting`` (``nulmeting`` / ``eindmeting``), ``partner_cooperation``,
    ``group_development`` and the evidence counts; four communities are not assessed and
    ``Buurt N2`` only at the end of the cycle. Made by ``data/make_example_geometry.py``.

    Examples
    --------
    >>> from collective_efficacy.datasets import load_example_assessments
    >>> load_example_assessments().shape
    (71, 8)
    """
    text = (
        resources.files("collective_efficacy.datasets.data") / "example_assessments.csv"
    ).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text))


def load_example_geometry() -> dict[str, Any]:
    """The bundled fictional GeoJSON of the 40 example communities (property ``buurt``).

    Examples
    --------
    >>> from collective_efficacy.datasets import load_example_geometry
    >>> len(load_example_geometry()["features"])
    40
    """
    text = (
        resources.files("collective_efficacy.datasets.data") / "example_buurten.geojson"
    ).read_text(encoding="utf-8")
    out: dict[str, Any] = json.loads(text)
    return out
