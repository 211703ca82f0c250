"""Every benchmark script answers ``--help`` without running anything.

A benchmark run takes minutes and rewrites RESULTS.md; asking a script for help must do neither.
Scripts whose ``__main__`` block calls a ``main`` that parses its arguments (argparse or its own
``-h`` check, tested in test_benchmarks.py) are exempt; every other script's ``__main__`` block
must call :func:`benchmarks.timing.exit_on_help` before anything else.
"""

from __future__ import annotations

import ast
import contextlib
import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.timing import exit_on_help  # noqa: E402

#: scripts whose main() parses its own options (argparse or an explicit -h check)
OWN_PARSER = {
    "bench_evaluate",
    "bench_e2e",
    "bench_summaries",
    "cli_ab",
    "handwritten_pipeline",
    "run",
}


def _main_block(tree: ast.Module) -> ast.If | None:
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
        ):
            return node
    return None


SCRIPTS = sorted(
    p
    for p in (ROOT / "benchmarks").glob("*.py")
    if p.stem not in OWN_PARSER and _main_block(ast.parse(p.read_text())) is not None
)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_main_block_starts_with_help_check(path: Path) -> None:
    block = _main_block(ast.parse(path.read_text()))
    assert block is not None
    first = block.body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
    func = first.value.func
    assert isinstance(func, ast.Name) and func.id == "exit_on_help", path.name


def test_scripts_found() -> None:
    names = {p.stem for p in SCRIPTS}
    assert {"bench_mixed", "bench_agreement", "sim_change_model_roc"} <= names


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_exit_on_help_prints_doc_and_exits_zero(flag: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exc:
        exit_on_help("What is timed.", ["10", flag], "N: rows")
    assert exc.value.code == 0
    assert out.getvalue() == "What is timed.\n\nOptions: N: rows\n"


def test_exit_on_help_returns_without_flag() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exit_on_help("What is timed.", ["10", "--large"])
    assert out.getvalue() == ""
