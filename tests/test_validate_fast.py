"""The fast paths of ``validate`` (issue 16) against straightforward references.

``validate`` codes each id column once (one factorize), finds repeated respondent ids from the
codes, reads clean numeric item columns without a copy and copies the usable rows once. Each
piece is checked here against the obvious implementation -- a Python loop over the rows or
pandas' own ``duplicated`` -- on random messy frames (text, numbers, missing cells, white space,
case and Unicode variants of labels, repeated ids, a wave column, a shuffled index). Exact
equality, no tolerance: both sides compute the same texts and the same float codes.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy._groups import factorize_objects
from collective_efficacy.responses._cells import _numeric_codes
from collective_efficacy.responses._exclusions import repeats
from collective_efficacy.responses._ids import (
    coded_ids,
    ids_as_text,
    number_text,
    with_texts,
)

ITEMS = ["SC1", "SC2", "SC3"]
LABELS = ["A", " A", "a", "B", "Buurt  1", "Buurt 1", "", "Zoë", "Zoe\u0308", "\tC ", None]
IDS = ["r1", "r2", "R1", "r 1", "", None]
ANSWERS = [1, 2, 3, 4, 5, 9, 8, 0, 7, 2.5, -1, np.inf, np.nan, None]
SLOW = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _norm(label: Any) -> Any:
    return None if pd.isna(label) else " ".join(unicodedata.normalize("NFC", label).split())


def _id_text(v: Any) -> Any:
    """The reference text of one id cell (the rule ``read_responses`` and ``validate`` share)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v if isinstance(v, str) else number_text(v)


@st.composite
def frames(draw: Any) -> tuple[pd.DataFrame, bool]:
    n = draw(st.integers(1, 30))
    resp_kind = draw(st.sampled_from(["text", "str", "float", "int"]))
    if resp_kind in {"text", "str"}:
        resp: Any = draw(st.lists(st.sampled_from(IDS), min_size=n, max_size=n))
        resp = pd.array(resp, dtype="str") if resp_kind == "str" else np.array(resp, object)
    elif resp_kind == "float":
        resp = np.array(
            draw(st.lists(st.sampled_from([1.0, 2.0, 2.5, np.nan]), min_size=n, max_size=n))
        )
    else:
        resp = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n))
    data: dict[str, Any] = {"resp": resp, "buurt": np.array(labels, dtype=object)}
    for item in ITEMS:
        cells = draw(st.lists(st.sampled_from(ANSWERS), min_size=n, max_size=n))
        kind = draw(st.sampled_from(["float", "object", "int"]))
        if kind == "int":
            data[item] = np.array([c if c in (1, 2, 3, 4, 5) else 1 for c in cells], dtype=np.int64)
        else:
            data[item] = np.array(cells, dtype=float if kind == "float" else object)
    with_wave = draw(st.booleans())
    if with_wave:
        data["meting"] = draw(st.lists(st.sampled_from(["t0", "t1"]), min_size=n, max_size=n))
    frame = pd.DataFrame(data)
    labels_as = draw(st.sampled_from(["str", "shared objects", "own objects"]))
    if labels_as != "str":  # Python str cells: one object per label (as read), or one per cell
        cells = [x if labels_as == "shared objects" or x is None else "".join(list(x))
                 for x in labels]  # fmt: skip
        frame["buurt"] = pd.Series(cells, index=frame.index, dtype=object)
    if draw(st.booleans()):
        frame.index = pd.Index(draw(st.permutations(list(range(0, 3 * n, 3)))))
    return frame, with_wave


def _reference(frame: pd.DataFrame, with_wave: bool) -> tuple[list[int], dict[str, list[Any]]]:
    """Positions of the usable rows and their columns, by a plain loop over the rows."""
    codes = {1.0, 2.0, 3.0, 4.0, 5.0}
    seen: set[Any] = set()
    keep: list[int] = []
    cols: dict[str, list[Any]] = {"resp": [], "buurt": [], **{i: [] for i in ITEMS}}
    for k in range(len(frame)):
        row = frame.iloc[k]
        label = _norm(frame["buurt"].iloc[k])
        rid = frame["resp"].iloc[k]
        rid = None if pd.isna(rid) else rid
        answers = [float(row[i]) if row[i] is not None and float(row[i]) in codes else np.nan
                   for i in ITEMS]  # fmt: skip
        key = (rid, frame["meting"].iloc[k] if with_wave else None)
        repeated = rid is not None and key in seen
        seen.add(key)
        if label in (None, "") or rid is None or repeated or all(np.isnan(answers)):
            continue
        keep.append(k)
        cols["resp"].append(_id_text(rid))
        cols["buurt"].append(label)
        for i, a in zip(ITEMS, answers):
            cols[i].append(a)
    return keep, cols


@SLOW
@given(frames())
def test_validate_equals_a_row_by_row_reference(case: tuple[pd.DataFrame, bool]) -> None:
    frame, with_wave = case
    before = frame.copy(deep=True)
    v = ce.validate(
        frame,
        "sampson1997",
        community="buurt",
        respondent="resp",
        wave="meting" if with_wave else None,
        items=ITEMS,
        errors="exclude",
    )
    keep, cols = _reference(frame, with_wave)
    assert v.data.index.tolist() == frame.index[keep].tolist()
    assert v.report.n_rows_usable == len(keep)
    assert v.report.n_rows_in == v.report.n_rows_usable + v.report.n_rows_excluded
    assert v.data["buurt"].tolist() == cols["buurt"]
    assert [None if pd.isna(x) else x for x in v.data["resp"]] == cols["resp"]
    for i in ITEMS:
        np.testing.assert_array_equal(v.data[i].to_numpy(), np.array(cols[i], dtype=float))
    assert v.data[ITEMS].dtypes.eq(np.float64).all()
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is untouched


@SLOW
@given(
    st.lists(st.sampled_from(["a", "b", " a", "10", None]), min_size=1, max_size=20),
    st.sampled_from(["object", "str", "category"]),
)
def test_coded_ids_equal_the_cell_by_cell_text(cells: list[Any], dtype: str) -> None:
    s = pd.Series(cells, dtype=dtype)
    codes, texts = coded_ids(s)
    assert codes is not None
    expected = ids_as_text(s)[0]
    assert expected is not None
    assert with_texts(codes, texts).tolist() == expected.tolist()
    # equal codes exactly when the texts are equal; -1 exactly when missing
    for a in range(len(s)):
        assert (codes[a] < 0) == (expected[a] is None)
        for b in range(len(s)):
            if codes[a] >= 0 and codes[b] >= 0:
                assert (codes[a] == codes[b]) == (expected[a] == expected[b])


@SLOW
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=40),
    st.lists(st.integers(0, 2), min_size=40, max_size=40),
    st.booleans(),
)
def test_repeats_equal_pandas_duplicated(values: list[int], waves: list[int], paired: bool) -> None:
    codes, _ = pd.factorize(pd.Series(values))
    wave = np.array(waves[: len(values)])
    got = repeats(codes, pd.factorize(wave)[0] if paired else None)
    key = pd.DataFrame({"id": values, "w": wave if paired else 0})
    np.testing.assert_array_equal(got, key.duplicated(keep="first").to_numpy())


@SLOW
@given(
    st.lists(st.sampled_from([1.0, 2.0, 5.0, 0.0, 6.0, 2.5, 9.0, np.nan, np.inf, -np.inf]),
             max_size=20),
    st.sampled_from(["float64", "float32", "int64"]),
)  # fmt: skip
def test_numeric_fast_path_equals_the_code_by_code_check(cells: list[float], dtype: str) -> None:
    if dtype == "int64":
        cells = [c for c in cells if np.isfinite(c)]
    raw = pd.Series(np.array(cells, dtype=dtype))
    rs = ce.load_instrument("sampson1997").response_scale("SC1")
    x = raw.to_numpy(dtype=np.float64)
    ok = bool(np.all(np.isnan(x) | np.isin(x, rs.codes)))
    got = _numeric_codes(raw, rs)
    assert (got is not None) == ok
    if got is not None:
        np.testing.assert_array_equal(got, x)


@SLOW
@given(st.lists(st.sampled_from(["ab", "cd", "ab ", None, np.nan, ""]), max_size=30), st.data())
def test_factorize_shared_equals_pandas(cells: list[Any], data: Any) -> None:
    """Cells sharing objects, or each its own object with equal text: pandas' codes."""
    own = data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    values = np.array(
        [("".join(list(c)) if o and isinstance(c, str) else c) for c, o in zip(cells, own)],
        dtype=object,
    )
    codes, uniques = factorize_objects(values, sort=False)
    want_codes, want_uniques = pd.factorize(values, use_na_sentinel=True)
    np.testing.assert_array_equal(codes, want_codes)
    assert list(uniques) == list(want_uniques)
