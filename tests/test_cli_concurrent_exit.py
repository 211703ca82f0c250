"""The console script's writer child is awaited without polling (issue 16): the parent returns
as the child exits, not at its next poll, and the patience still bounds the wait."""

from __future__ import annotations

import os
import time

import pytest

from collective_efficacy.cli import _concurrent

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def _child(seconds: float, code: int) -> int:
    pid = os.fork()
    if pid == 0:  # the child: wait, then leave at once
        time.sleep(seconds)
        os._exit(code)
    return pid


def test_exit_is_noticed_without_waiting_for_the_patience() -> None:
    pid = _child(0.2, 0)
    t0 = time.monotonic()
    assert _concurrent._finished(pid, patience=60.0) is True
    assert time.monotonic() - t0 < 30  # returned at the exit, long before the patience


def test_a_failed_child_is_reported() -> None:
    assert _concurrent._finished(_child(0.05, 1), patience=60.0) is False


def test_a_child_past_the_patience_is_killed() -> None:
    pid = _child(60.0, 0)
    t0 = time.monotonic()
    assert _concurrent._finished(pid, patience=0.3) is False
    assert time.monotonic() - t0 < 30
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(pid, os.WNOHANG)


def test_without_a_process_descriptor_the_polling_waits(monkeypatch) -> None:
    """An old kernel (no pidfd_open): the same results from polling."""

    def no_pidfd(pid: int) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd, raising=False)
    assert _concurrent._finished(_child(0.1, 0), patience=60.0) is True
    assert _concurrent._finished(_child(60.0, 0), patience=0.3) is False
