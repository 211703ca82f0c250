"""One timing method for our functions and the peer tools (issue 16 item 5).

:func:`timed` runs a callable ``repeat`` times and reports the **median** wall-clock time; when
the first run takes longer than ``SLOW`` seconds (a slow peer), that single run is the figure.
Every benchmark row states the method with :func:`method` (``"median of 5"``, ``"single run
(> 20 s)"``), and ours and the peers use the same ``repeat`` in a comparison.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

REPEAT = 5  # runs per measurement, the same for ours and the peers
SLOW = 20.0  # a first run longer than this is not repeated (for ours and peers alike)


def timed(fn: Callable[[], Any], repeat: int = REPEAT, slow: float = SLOW) -> tuple[float, int]:
    """(median wall time in seconds, number of runs) of ``fn``; one run when it takes > slow."""
    times: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if times[0] > slow:
            break
    return statistics.median(times), len(times)


def method(runs: int, slow: float = SLOW) -> str:
    """How a figure was measured, for the row's note."""
    return f"median of {runs}" if runs > 1 else f"single run (> {slow:g} s, not repeated)"


def best_of(fn: Callable[[], Any], repeat: int = REPEAT) -> float:
    """The median of ``repeat`` runs (the name is kept for the modules that import it).

    Issue 16 replaced best-of timing by the median, for ours and the peers alike; a module
    that states its method calls :func:`timed` and :func:`method`.
    """
    return timed(fn, repeat)[0]


def exit_on_help(doc: str | None, argv: list[str], options: str = "") -> None:
    """Print what a benchmark script times (its docstring) and exit when ``-h``/``--help`` is given.

    Every script's ``__main__`` calls this first, so that asking for help never starts a run
    (nor rewrites RESULTS.md).
    """
    if "-h" in argv or "--help" in argv:
        print((doc or "").strip() + (f"\n\nOptions: {options}" if options else ""))
        raise SystemExit(0)
