"""Writing the output files two at a time: a forked child writes some while this process
writes the others (private; the console script only).

The report's files are independent once the evaluation is computed: ``results.json`` and
``communities.csv`` (pydantic's serialiser, pandas' CSV writer) take about as long as
``report.html`` and ``report.md``, and none of them releases the GIL, so threads would take
turns. On Linux, with two cores or more, the console script (:func:`~collective_efficacy.
cli.console_main`) writes them in two processes: :func:`os.fork` gives the child the finished
evaluation at no cost (copy-on-write), and the child only serialises and writes files, then
leaves with :func:`os._exit` (no teardown, no flushing of the parent's buffers, no ``atexit``).

The files are the same bytes either way (``tests/test_cli_startup.py``). A child that fails
for any reason (a full disk, a signal, a hang: it is killed after :data:`PATIENCE_S` seconds
plus ten times what this process took) changes nothing: this process then writes those files
itself, so every error is raised and shown as before.
:func:`~collective_efficacy.cli.main`, which a long-lived caller may call, never forks
(``ENABLED`` is set by the console script only).
"""

from __future__ import annotations

import gc
import os
import select
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

__all__ = ["ENABLED", "write_split"]

#: Fork for the outputs: set by the console script, never by :func:`~collective_efficacy.cli.main`
ENABLED = False
#: Linux only: its C library and numpy's BLAS make ``fork`` in a process with idle threads
#: safe; on macOS a forked child of a threaded process may abort (it would be redone here)
LINUX = sys.platform.startswith("linux")

#: A child still writing this long after this process finished its own files (seconds, plus
#: ten times what this process took) is taken to hang (a lock held at the fork): it is killed
#: and this process writes its files itself
PATIENCE_S = 60.0

Job = Callable[[], object]


def _fork() -> int | None:
    """``os.fork()``, or None: not the console script, one core, not Linux, or the fork failed
    (this process then does all)."""
    if not ENABLED or not LINUX or (os.cpu_count() or 1) < 2:
        return None
    for stream in (sys.stdout, sys.stderr):  # nothing buffered twice: each process its own
        stream.flush()
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns on fork in a process with threads (numpy's BLAS and pyarrow's
            # idle pools): the child runs no code of theirs, only serialises and writes files
            warnings.simplefilter("ignore", DeprecationWarning)
            return os.fork()
    except OSError:
        return None


def _child(jobs: Sequence[Job]) -> NoReturn:
    """The child's whole life: the jobs, then an immediate exit (0: all written)."""
    code = 1
    try:
        for job in jobs:
            job()
        sys.stdout.flush()
        sys.stderr.flush()
        code = 0
    except BaseException:  # the parent writes these files again and reports the error
        pass
    finally:
        os._exit(code)


def write_split(here: Sequence[Job], there: Sequence[Job]) -> None:
    """Run ``here`` in this process and ``there`` in a forked child, at the same time.

    Without a child (not the console script, one core, not Linux) both run here, ``here``
    first. When the child fails, ``there`` runs again here, after ``here``: its errors are
    raised in this process as without a child. An error in ``here`` is raised once the child
    has finished.
    """
    with _collector_paused():
        pid = _fork()
        if pid == 0:
            _child(there)
        start = time.monotonic()
        try:
            for job in here:
                job()
        finally:
            ok = pid is not None and _finished(pid, PATIENCE_S + 10 * (time.monotonic() - start))
        if not ok:
            for job in there:
                job()


def _finished(pid: int, patience: float) -> bool:
    """True when the child ``pid`` exits with status 0 within ``patience`` seconds; a child
    still running then is killed (False: its files are written again here)."""
    deadline = time.monotonic() + patience
    _await_exit(pid, patience)
    pause = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status == 0
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False
        time.sleep(pause)
        pause = min(2 * pause, 0.05)


def _await_exit(pid: int, patience: float) -> None:
    """Return as the child ``pid`` exits (or after ``patience`` seconds), without polling: a
    Linux process descriptor becomes readable at the exit (a poll every 50 ms would notice it
    25 ms late on average). Where there is none (an old kernel), the caller's polling does."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return
    try:
        select.select([fd], [], [], patience)
    except (OSError, ValueError):
        pass
    finally:
        os.close(fd)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the files are written (then as before).

    The writers build lists of cells and strings, no reference cycles, yet their allocations
    trigger the collector again and again, and its full passes walk every object of the
    evaluation (a million respondents: 100,000 dicts of a row each): a fifth of the time of
    report.html.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
