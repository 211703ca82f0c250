"""The stacked waves' community and wave codings built from validate's codes (issue 16) are
exactly the codings ``factorize_groups`` makes of the stacked columns (the reference: pandas'
sorted factorisation), for text labels as pandas' ``str`` dtype and as Python objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy._groups import factorize_groups
from collective_efficacy.evaluation._inputs import read_inputs
from collective_efficacy.evaluation._options import resolve_options
from collective_efficacy.evaluation._sections import WAVE

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5", "ISC1", "ISC2", "ISC3", "ISC4", "ISC5"]


def _wave(rng: np.random.Generator, n: int, labels: list[str], dtype: str) -> pd.DataFrame:
    df = pd.DataFrame(rng.integers(1, 6, (n, len(ITEMS))).astype(float), columns=ITEMS)
    df.insert(0, "buurt", pd.array(rng.choice(labels, n).tolist(), dtype=dtype))
    return df


def _options(**kw: object) -> object:
    args = {
        "instrument": "sampson1997", "community": "buurt", "respondent": None, "columns": None,
        "assessments": None, "wave": None, "before": "baseline", "after": "end_of_cycle",
        "geometry": None, "geometry_key": None, "date": None, "scale": None, "cutpoints": None,
        "comparison": None, "min_n": 10, "ci": 0.95, "p_adjust": "holm", "skip_impact": True,
        "skip_map": True, "weight": None, "design": None,
    }  # fmt: skip
    return resolve_options({**args, **kw})


@pytest.mark.parametrize("dtype", ["str", "object"])
@pytest.mark.parametrize("seed", [1, 2])
def test_codings_from_validate_equal_factorize_groups(dtype: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # labels that validate normalises (spaces), sort by code point (upper before lower,
    # accents last), and communities surveyed in one wave only
    shared = ["Buurt 2", "buurt 10", "Buurt 1", " Buurt  3", "Élan", "Zuid"]
    before = _wave(rng, 400, [*shared, "Alleen voor"], dtype)
    after = _wave(rng, 300, [*shared, "alleen na"], dtype)
    inp = read_inputs({"baseline": before, "end_of_cycle": after}, _options())  # type: ignore[arg-type]
    assert set(inp.codings) == {"buurt", WAVE}
    for column, got in inp.codings.items():
        ref = factorize_groups(inp.scores, column)
        np.testing.assert_array_equal(got.codes, ref.codes)
        assert got.codes.dtype == ref.codes.dtype == np.int64
        pd.testing.assert_index_equal(got.labels, ref.labels, exact=True)
        np.testing.assert_array_equal(got.counts, ref.counts)
        assert got.name == ref.name


def test_integer_community_ids_become_text_and_agree() -> None:
    rng = np.random.default_rng(3)
    before = _wave(rng, 200, ["1"], "object").assign(buurt=rng.integers(8, 12, 200))
    after = _wave(rng, 200, ["1"], "object").assign(buurt=rng.integers(8, 12, 200))
    inp = read_inputs({"baseline": before, "end_of_cycle": after}, _options())  # type: ignore[arg-type]
    ref = factorize_groups(inp.scores, "buurt")  # ids are text: "10" sorts before "8"
    np.testing.assert_array_equal(inp.codings["buurt"].codes, ref.codes)
    pd.testing.assert_index_equal(inp.codings["buurt"].labels, ref.labels, exact=True)
    assert ref.labels.tolist() == ["10", "11", "8", "9"]
    ev = ce.evaluate(before, after, community="buurt", min_n=5, skip_impact=True)
    assert [r["buurt"] for r in ev.sections["community_scores"][::2]] == ["10", "11", "8", "9"]


@pytest.mark.parametrize("dtype", ["str", "object"])
@pytest.mark.parametrize("seed", range(6))
def test_in_both_waves_equals_set_intersection(dtype: str, seed: int) -> None:
    from collective_efficacy.evaluation._change import in_both_waves

    rng = np.random.default_rng(seed)
    pool = [f"R{i:0{w}d}" for i, w in zip(range(3000), rng.integers(1, 9, 3000))]  # 2-9 bytes
    if seed % 2:
        pool = [f"R{i:06d}" for i in range(3000)]  # one length: no length byte in the keys
    a = rng.choice(pool, 800, replace=False).tolist()
    b = rng.choice(pool, 700, replace=False).tolist()
    if seed % 3 == 0:  # no shared id
        b = [x for x in b if x not in set(a)]
    if seed == 4:  # a missing id in each wave (never a match)
        a[0] = b[0] = None
    first = pd.Series(pd.array(a, dtype=dtype))
    second = pd.Series(pd.array(b, dtype=dtype))
    expected = bool({x for x in a if x is not None} & {x for x in b if x is not None})
    assert in_both_waves(first, second) is expected
    assert in_both_waves(second, first) is expected
