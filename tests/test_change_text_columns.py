"""text_columns skips a column already of pandas 3's str dtype: the same frame as converting it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from collective_efficacy.change._data import text_columns


def _reference(out: pd.DataFrame, cols: list[str]) -> None:
    """The conversion of every column, as before the skip."""
    for c in cols:
        if c in out:
            vals = np.array(out[c].to_numpy(), dtype=object)
            vals[pd.isna(vals)] = None
            out[c] = (
                pd.array(vals, dtype="str")
                if int(pd.__version__.split(".")[0]) >= 3
                else pd.Series(vals, dtype=object, index=out.index)
            )


def test_text_columns_matches_converting_every_column() -> None:
    frame = pd.DataFrame(
        {
            "s": pd.array(["a", None, "c"], dtype="str"),
            "p": pd.array(["a", None, "c"], dtype=pd.StringDtype("python", na_value=np.nan)),
            "o": np.array(["x", None, np.nan], dtype=object),
            "n": [1.0, np.nan, 2.0],
        }
    )
    cols = ["s", "p", "o", "n", "absent"]
    new, old = frame.copy(), frame.copy()
    text_columns(new, cols)
    _reference(old, cols)
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    for c in frame:
        assert new[c].dtype == old[c].dtype
        assert type(new[c].array) is type(old[c].array)
