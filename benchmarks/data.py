"""Deterministic national-scale survey generator for the benchmarks.

``make_survey(n_respondents, n_communities, seed)`` returns a long-format DataFrame of a two-wave
survey with the ten Sampson (1997) items coded 1-5 (SC3, SC4 reverse worded), unbalanced
negative-binomial community sizes and 5 % missing cells. Same arguments, same data.

By default the data are what a user has after reading a file (issue 16): rows in **random
order** (not grouped by community) and community labels as Python strings in an ``object``
column (what ``read_responses`` and ``read_csv(dtype=object)`` give). ``order="sorted"`` and
``labels="categorical"`` / ``labels="str"`` (pandas' string dtype) give the friendlier layouts,
for rows labelled as such in RESULTS.md.

Presets: ``SMALL`` = 200,000 respondents in 4,000 communities (a Dutch national survey);
``LARGE`` = 1,000,000 respondents in 13,000 communities (all Dutch neighbourhoods).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SMALL = (200_000, 4_000)
LARGE = (1_000_000, 13_000)
ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5", "ISC1", "ISC2", "ISC3", "ISC4", "ISC5"]
REVERSED = {"SC3", "SC4"}
_CHUNK = 1_000_000  # rows of random numbers drawn at a time


def community_sizes(n_respondents: int, n_communities: int, rng: np.random.Generator) -> np.ndarray:
    """Negative-binomial community sizes (each >= 1) that sum exactly to ``n_respondents``."""
    mean = n_respondents / n_communities
    raw = rng.negative_binomial(2, 2 / (2 + mean), size=n_communities) + 1
    sizes = np.maximum(1, np.round(raw * n_respondents / raw.sum())).astype(np.int64)
    diff = n_respondents - int(sizes.sum())
    # fix rounding so that the total is exact: add/remove one at the largest communities
    order = np.argsort(-sizes)
    i = 0
    while diff != 0:
        k = order[i % n_communities]
        if diff > 0:
            sizes[k] += 1
            diff -= 1
        elif sizes[k] > 1:
            sizes[k] -= 1
            diff += 1
        i += 1
    return sizes


def survey_arrays(
    n_respondents: int, n_communities: int, *, seed: int, missing: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numbers of :func:`make_survey` before any frame: the answer matrix (rows in
    community order), each row's community code and wave (0 = baseline, 1 = end)."""
    rng = np.random.default_rng(seed)
    sizes = community_sizes(n_respondents, n_communities, rng)
    community = np.repeat(np.arange(n_communities), sizes)
    wave = rng.integers(0, 2, size=n_respondents)
    u = rng.normal(0, 0.45, size=n_communities)  # between-community sd
    growth = rng.normal(0.15, 0.2, size=n_communities)
    person = rng.normal(0, 0.8, size=n_respondents)
    latent = 3.0 + u[community] + growth[community] * wave + person
    difficulty = rng.normal(0, 0.3, size=len(ITEMS))
    # in place and in row chunks (the same numbers: the generator fills arrays in order), so
    # that 10,000,000 respondents need one answer matrix, not four
    y = latent[:, None] + difficulty[None, :]
    del latent, person
    for lo in range(0, n_respondents, _CHUNK):
        y[lo : lo + _CHUNK] += rng.normal(
            0, 0.8, size=(min(_CHUNK, n_respondents - lo), len(ITEMS))
        )
    np.rint(y, out=y)
    np.clip(y, 1, 5, out=y)
    for j, item in enumerate(ITEMS):
        if item in REVERSED:
            y[:, j] = 6 - y[:, j]
    for lo in range(0, n_respondents, _CHUNK):
        part = y[lo : lo + _CHUNK]
        part[rng.random(part.shape) < missing] = np.nan
    return y, community, wave


def make_survey(
    n_respondents: int = SMALL[0],
    n_communities: int = SMALL[1],
    *,
    seed: int = 20261123,
    missing: float = 0.05,
    order: str = "shuffled",
    labels: str = "object",
) -> pd.DataFrame:
    """Two-wave survey: columns respondent, community, wave ('baseline'/'end'), SC1..ISC5.

    ``order``: ``"shuffled"`` (default) or ``"sorted"`` by community; ``labels``: ``"object"``
    (default, Python str), ``"str"`` (pandas' string dtype) or ``"categorical"``.
    """
    if order not in {"shuffled", "sorted"} or labels not in {"object", "str", "categorical"}:
        raise ValueError(f"order={order!r}, labels={labels!r}")
    y, community, wave = survey_arrays(n_respondents, n_communities, seed=seed, missing=missing)
    df = pd.DataFrame(y, columns=ITEMS, copy=False)
    df.insert(0, "wave", np.where(wave == 0, "baseline", "end"))
    df.insert(0, "community", np.char.add("C", np.arange(n_communities).astype(str))[community])
    df.insert(0, "respondent", np.arange(n_respondents))
    if order == "shuffled":  # a separate stream: the same respondents, in another order
        perm = np.random.default_rng([seed, 1]).permutation(n_respondents)
        df = df.iloc[perm].reset_index(drop=True)
    kind = {"object": object, "str": "str", "categorical": "category"}[labels]
    df["community"] = df["community"].astype(kind)
    return df
