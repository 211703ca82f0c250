"""Private kernels of the reliability functions against their definitions.

``smc_stack`` is ``psych::smc``: ``1 - 1 / diag(Pinv(R))`` with psych's ``Pinv`` (singular values
below ``sqrt(eps)`` times the largest dropped), clipped to [0, 1]. Reference: numpy's
``pinv(R, rcond=sqrt(eps), hermitian=True)`` matrix by matrix. Tolerance 1e-12 (the fast path
inverts well-conditioned matrices with ``inv``, equal to the pseudo-inverse up to rounding).
"""

from __future__ import annotations

import numpy as np

from collective_efficacy.reliability._core import smc_stack

RTOL = float(np.sqrt(np.finfo(np.float64).eps))


def _reference(r: np.ndarray) -> np.ndarray:
    out = []
    for m in r:  # the test loops; the library does not
        d = np.diag(np.linalg.pinv(m, rcond=RTOL, hermitian=True))
        with np.errstate(divide="ignore"):
            out.append(np.clip(1.0 - 1.0 / d, 0.0, 1.0))
    return np.array(out)


def _corr(rng: np.random.Generator, k: int) -> np.ndarray:
    a = rng.normal(size=(3 * k, k)) + rng.normal(size=(3 * k, 1))
    return np.corrcoef(a, rowvar=False)


def test_smc_well_conditioned_stack() -> None:
    rng = np.random.default_rng(4)
    r = np.stack([_corr(rng, 5) for _ in range(50)])
    np.testing.assert_allclose(smc_stack(r), _reference(r), rtol=1e-12, atol=1e-12)


def test_smc_stack_with_singular_and_indefinite_matrices() -> None:
    rng = np.random.default_rng(5)
    good = [_corr(rng, 4) for _ in range(5)]
    singular = np.ones((4, 4))  # rank one: Pinv drops three singular values
    indefinite = np.array(
        [[1.0, 0.9, -0.9, 0.0], [0.9, 1.0, 0.9, 0.0], [-0.9, 0.9, 1.0, 0.0], [0, 0, 0, 1.0]]
    )
    r = np.stack([*good, singular, indefinite])
    np.testing.assert_allclose(smc_stack(r), _reference(r), rtol=1e-12, atol=1e-12)
