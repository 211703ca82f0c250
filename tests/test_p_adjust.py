"""``p_adjust`` against statsmodels' ``multipletests`` on random p-values with ties and NaN.

The R oracle (``p.adjust``) is checked in test_change_reference.py; this property test covers
many more shapes. Tolerance: 1e-15 absolute (both compute the same cumulative extrema).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from statsmodels.stats.multitest import multipletests

import collective_efficacy as ce

SM = {
    "holm": "holm",
    "hochberg": "simes-hochberg",
    "BH": "fdr_bh",
    "BY": "fdr_by",
    "bonferroni": "bonferroni",
}

p_values = st.lists(
    st.one_of(st.sampled_from([0.0, 0.01, 0.05, 0.5, 1.0, float("nan")]), st.floats(0.0, 1.0)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(p=p_values, method=st.sampled_from(sorted(SM)))
def test_matches_statsmodels_with_ties_and_nan(p, method):
    arr = np.asarray(p)
    got = np.asarray(ce.p_adjust(arr, method=method))
    ok = ~np.isnan(arr)
    assert np.isnan(got[~ok]).all()
    if ok.any():
        want = multipletests(arr[ok], method=SM[method])[1]
        assert_allclose(got[ok], want, rtol=0, atol=1e-15)
