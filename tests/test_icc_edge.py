"""ICC when every community mean equals the grand mean (MSB = 0 up to rounding).

Found by hypothesis in test_agreement.py: SSB at rounding level (1e-32) gave ICC(2) = -2.3e30
in one row order and -2.7e30 in another. With MSB = 0, ICC(2) = (MSB - MSW) / MSB is -inf
(R: ``multilevel::ICC2`` and ``psych::ICC``'s ICC(1,k) divide by MSB = 0 the same way) and
ICC(1) = -1 / (n - 1), its lower bound, in every row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import collective_efficacy as ce


def test_equal_means_give_minus_inf_in_every_order() -> None:
    df = pd.DataFrame(
        {"nbh": ["A"] * 4 + ["B"] * 4, "score": [1.1, 2.3, 3.7, 1.3, 3.7, 2.3, 1.1, 1.3]}
    )
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(20):
        res = ce.icc(df.iloc[rng.permutation(8)], dv="score", community="nbh").iloc[0]
        rows.append((res["icc1"], res["icc2"], res["f"], res["note"]))
    # ICC(2), F and the note exactly; ICC(1) to rounding (MSW's last bit depends on the order)
    assert len({r[1:] for r in rows}) == 1
    for icc1, icc2, f, note in rows:
        assert icc2 == -np.inf and f == 0.0
        assert abs(icc1 - (-1.0 / (4 - 1))) < 1e-15
        assert note.startswith("no between-community variation")
