"""Declared parameter constraints, renamed-argument shims and the one random-state helper.

Every public function declares its parameter constraints as data beside it (scikit-learn's
``validate_params`` is the model)::

    @public(
        constraints={"community": [COLUMNS], "min_n": [Interval(Integral, 1, None)]},
        renamed={"group": "community"},
        old_positional=("dv", "group"),
    )
    def icc(data, *, dv, community, min_n=10): ...

and :func:`public` checks them in one place before the body runs, raising
:class:`~collective_efficacy.errors.ParameterError` (a ``DataError``, ``ValueError`` and
``TypeError``) that names the parameter, the value and what was expected. ``bool`` is not an
integer here; ``numpy.int64`` is. A choice among strings (:class:`Options`) accepts the
upper-case spelling and hands the body the lower-case one.

Old spellings keep working until 2.0: an argument in ``renamed`` (``group=`` for ``community=``)
or passed by its old position emits a :class:`FutureWarning` naming the new spelling.
"""

from __future__ import annotations

import functools
import inspect
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError, ParameterError

__all__ = [
    "ARRAY",
    "BOOLEAN",
    "CI",
    "CODES",
    "COLUMN",
    "COLUMNS",
    "FRAME",
    "ITEM_RANGES",
    "KEYS",
    "MAPPING",
    "NATIVE_FRAME",
    "PATH",
    "SCALE_RANGE",
    "SEED",
    "TEXT",
    "WAVE_LABEL",
    "Constraint",
    "InstanceOf",
    "Interval",
    "Options",
    "Predicate",
    "as_generator",
    "public",
    "seed_entropy",
]

F = TypeVar("F", bound=Callable[..., Any])

#: removal version of every deprecated spelling
REMOVED_IN = "2.0"


class Constraint:
    """A set of accepted values: :meth:`accepts`, a description, and examples for the tests."""

    description = "a valid value"

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def normalise(self, value: Any) -> Any:
        """The value the function body receives (e.g. a lower-cased option)."""
        return value

    def valid_example(self) -> Any:
        raise NotImplementedError

    def invalid_examples(self) -> list[Any]:
        """Candidate values this constraint refuses (the generated test picks one)."""
        return [object(), "not-a-valid-value", -1, True, 1e300, None]


def _is_int(value: Any) -> bool:
    return isinstance(value, (Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, (Real, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


class Interval(Constraint):
    """An integer or real number in an interval (``None`` bound: unbounded)."""

    def __init__(
        self,
        kind: type,
        left: float | None,
        right: float | None,
        *,
        closed: str = "both",
    ) -> None:
        self.kind = kind
        self.left = left
        self.right = right
        self.closed = closed
        lo = "[" if closed in ("both", "left") else "("
        hi = "]" if closed in ("both", "right") else ")"
        what = "an integer" if kind is Integral else "a number"
        if right is None and left is not None:
            self.description = f"{what} {'>=' if lo == '[' else '>'} {left:g}"
        elif left is None and right is not None:
            self.description = f"{what} {'<=' if hi == ']' else '<'} {right:g}"
        elif left is None:
            self.description = what
        else:
            self.description = f"{what} in {lo}{left:g}, {right:g}{hi}"

    def accepts(self, value: Any) -> bool:
        if self.kind is Integral:
            if not _is_int(value):
                return False
        elif not _is_real(value) or not np.isfinite(float(value)):
            return False
        v = float(value)
        open_left = self.closed in ("right", "neither")
        open_right = self.closed in ("left", "neither")
        below = self.left is not None and (v < self.left or (v == self.left and open_left))
        above = self.right is not None and (v > self.right or (v == self.right and open_right))
        return not (below or above)

    def valid_example(self) -> Any:
        if self.left is not None and self.right is not None:
            mid = (self.left + self.right) / 2
            return int(np.ceil(mid)) if self.kind is Integral else mid
        base = self.left if self.left is not None else self.right
        guess = 0.0 if base is None else float(base) + (1 if self.left is not None else -1)
        return int(guess) + (100 if self.kind is Integral else 0) if base is not None else 0

    def invalid_examples(self) -> list[Any]:
        out: list[Any] = [True, "1"]
        if self.left is not None:
            out.append(self.left - 1)
        if self.right is not None:
            out.append(self.right + 1)
        if self.kind is Integral:
            out.append(2.5)
        out.append(float("nan"))
        return out


class Options(Constraint):
    """One of a set of strings, in any letter case when ``lower=True`` (the default).

    The body receives the declared spelling: lower-case for the library's own options
    (``method="REML"`` is an alias of ``"reml"``), R's spelling where R names them (``"BH"``).
    """

    def __init__(self, values: Iterable[str], *, lower: bool = True) -> None:
        self.values = tuple(values)
        self.lower = lower
        self.description = "one of " + ", ".join(repr(v) for v in self.values)
        self._canonical = {(v.lower() if lower else v): v for v in self.values}

    def _key(self, value: Any) -> Any:
        return value.lower() if self.lower and isinstance(value, str) else value

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and self._key(value) in self._canonical

    def normalise(self, value: Any) -> Any:
        """The declared spelling (``"REML"`` -> ``"reml"``; ``"bh"`` -> ``"BH"``)."""
        return self._canonical[self._key(value)]

    def valid_example(self) -> Any:
        return self.values[0]

    def invalid_examples(self) -> list[Any]:
        return ["not-a-valid-option", 1]


class InstanceOf(Constraint):
    """An instance of one of ``types`` (``bool`` never counts as a number)."""

    def __init__(self, *types: type, description: str, example: Callable[[], Any]) -> None:
        self.types = types
        self.description = description
        self._example = example

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def valid_example(self) -> Any:
        return self._example()

    def invalid_examples(self) -> list[Any]:
        return [object(), 3.5, "x"]


class Predicate(Constraint):
    """Values for which ``test`` is true (``example`` builds a valid one, for the tests)."""

    def __init__(
        self,
        test: Callable[[Any], bool],
        description: str,
        example: Callable[[], Any],
        invalid: Sequence[Any],
    ) -> None:
        self.test = test
        self.description = description
        self._example = example
        self._invalid = list(invalid)

    def accepts(self, value: Any) -> bool:
        return bool(self.test(value))

    def valid_example(self) -> Any:
        return self._example()

    def invalid_examples(self) -> list[Any]:
        return list(self._invalid)


def _is_column_name(value: Any) -> bool:
    """A column label: a non-empty string, or an integer (pandas allows integer labels)."""
    return (isinstance(value, str) and value != "") or _is_int(value)


def _is_columns(value: Any) -> bool:
    if _is_column_name(value):
        return True
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        return False
    return len(value) > 0 and all(_is_column_name(v) for v in value)


def _is_range(value: Any) -> bool:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False
    lo, hi = value
    return (
        _is_real(lo)
        and _is_real(hi)
        and bool(np.isfinite([lo, hi]).all())
        and float(lo) < float(hi)
    )


#: a column label (a non-empty string or an integer)
COLUMN = Predicate(
    _is_column_name,
    "a column label (a non-empty string or an integer)",
    lambda: "x",
    [3.5, "", None],
)
#: one column label or a non-empty list of them
COLUMNS = Predicate(
    _is_columns, "a column label or a list of column labels", lambda: "x", [3.5, [], ["x", 2.5]]
)
#: the response range used for reverse keying
SCALE_RANGE = Predicate(
    _is_range, "a (min, max) pair of finite numbers with min < max", lambda: (1, 5), [(5, 1), 5]
)
#: a wave label (any hashable value that is not None or a bool)
WAVE_LABEL = Predicate(
    lambda v: v is not None and not isinstance(v, (bool, np.bool_, list, dict, set)),
    "a wave label (a string or number)",
    lambda: "baseline",
    [["baseline"], True],
)
#: a mapping item -> (min, max)
ITEM_RANGES = Predicate(
    lambda v: isinstance(v, Mapping) and len(v) > 0 and all(_is_range(r) for r in v.values()),
    "a mapping item -> (min, max)",
    lambda: {"x": (1, 5)},
    [{"x": (5, 1)}],
)


def _is_array_like(value: Any) -> bool:
    """A one-dimensional array-like: a list/tuple, a 1-D numpy array or a pandas Series/Index."""
    if isinstance(value, (str, bytes, Mapping, pd.DataFrame)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, (Sequence, pd.Series, pd.Index, pd.api.extensions.ExtensionArray))


def _is_codes(value: Any) -> bool:
    """Item codes of any shape: an array, a pandas object, a list, or one number."""
    if isinstance(value, (np.ndarray, pd.Series, pd.DataFrame)) or _is_real(value):
        return True
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _is_keys(value: Any) -> bool:
    """psych-style keys: a list/array of names or +1/-1, a mapping, or an instrument/scale."""
    if hasattr(value, "reverse_keys") or isinstance(value, Mapping):
        return True
    return _is_array_like(value) and len(value) > 0


#: a one-dimensional array-like (list, numpy array, pandas Series)
ARRAY = Predicate(
    _is_array_like,
    "a one-dimensional array-like (a list, numpy array or pandas Series)",
    lambda: [1.0, 2.0, 3.0],
    [3.5, "abc", np.zeros((2, 2))],
)
#: item codes of any shape
CODES = Predicate(
    _is_codes, "an array of item codes (or one code)", lambda: [1.0, 2.0], ["abc", None, {"a": 1}]
)
#: reverse keying (psych-style list or mapping, +1/-1 array, or an Instrument/Scale)
KEYS = Predicate(
    _is_keys,
    "keys: a list such as ['SC1', '-SC3'], a mapping item -> +1/-1, a +1/-1 array or an Instrument",
    lambda: ["x"],
    [3.5, "SC1", []],
)
#: a mapping (a dict)
MAPPING = Predicate(
    lambda v: isinstance(v, Mapping), "a mapping (a dict)", lambda: {"x": 1}, [3.5, "x", [1]]
)
#: a file path (a non-empty string or a path object)
PATH = Predicate(
    lambda v: isinstance(v, os.PathLike) or (isinstance(v, str) and v != ""),
    "a file path (a non-empty string or pathlib.Path)",
    lambda: "x",
    [3.5, "", b"x"],
)
#: a non-empty string
TEXT = Predicate(
    lambda v: isinstance(v, str) and v != "", "a non-empty string", lambda: "x", [3.5, "", ["x"]]
)
#: a confidence level
CI = Interval(Real, 0, 1, closed="neither")
BOOLEAN = InstanceOf(bool, np.bool_, description="True or False", example=lambda: True)


class _Frame(Constraint):
    """A table: a pandas DataFrame or any frame narwhals knows (polars, pyarrow, DuckDB, Dask).

    The body receives a pandas DataFrame (:mod:`collective_efficacy.summaries._frames`, the one
    conversion layer); ``native=True`` hands the frame over unconverted.
    """

    def __init__(self, *, native: bool = False) -> None:
        self.native = native
        self.description = "a DataFrame (pandas, polars, pyarrow, DuckDB or Dask)"

    def accepts(self, value: Any) -> bool:
        from collective_efficacy.summaries._frames import is_frame

        return is_frame(value)

    def normalise(self, value: Any) -> Any:
        if self.native or isinstance(value, pd.DataFrame):
            return value
        from collective_efficacy.summaries._frames import to_pandas

        return to_pandas(value)

    def valid_example(self) -> Any:
        return pd.DataFrame()

    def invalid_examples(self) -> list[Any]:
        return [object(), 3.5, "x"]


#: a table; a non-pandas frame reaches the body as a pandas DataFrame
FRAME = _Frame()
#: a table of any engine, handed over as it is
NATIVE_FRAME = _Frame(native=True)
#: randomness: an int >= 0, a numpy Generator or None
SEED = Predicate(
    lambda v: v is None or isinstance(v, np.random.Generator) or (_is_int(v) and v >= 0),
    "an integer >= 0, a numpy.random.Generator or None",
    lambda: 1,
    [-1, 2.5, "1", True],
)


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """The one random-state helper: ``seed`` (int, Generator or None) as a Generator.

    >>> bool(as_generator(1).integers(10) == as_generator(1).integers(10))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(None if seed is None else int(seed))


def seed_entropy(seed: int | np.random.Generator | None) -> int:
    """An integer entropy for :class:`numpy.random.SeedSequence` streams built from ``seed``.

    An int is its own entropy (results equal those of earlier versions); a Generator gives one
    draw (so it advances); None gives fresh OS entropy.
    """
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    return int(np.random.SeedSequence(None if seed is None else int(seed)).entropy)  # type: ignore[arg-type]


def _describe(constraints: Sequence[Constraint | None]) -> str:
    parts = ["None" if c is None else c.description for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _check(func: str, name: str, value: Any, constraints: Sequence[Constraint | None]) -> Any:
    for c in constraints:
        if c is None:
            if value is None:
                return None
        elif c.accepts(value):
            return c.normalise(value)
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    raise ParameterError(
        f"{name} must be {_describe(constraints)}; got {shown} (in {func}())", argument=name
    )


def _warn_renamed(func: str, old: str, new: str) -> None:
    warnings.warn(
        f"{func}(): {old}= is deprecated and will be removed in {REMOVED_IN}; use {new}= instead.",
        FutureWarning,
        stacklevel=4,
    )


def _apply_renames(
    func: str, kwargs: dict[str, Any], renamed: Mapping[str, str], quiet: set[str]
) -> dict[str, Any]:
    out = dict(kwargs)
    range_parts: dict[int, Any] = {}
    for old, new in renamed.items():
        if old not in out:
            continue
        value = out.pop(old)
        if new.startswith("scale_range["):
            if old not in quiet:
                _warn_renamed(func, old, "scale_range")
            range_parts[int(new[len("scale_range[")])] = value
            continue
        if old not in quiet:
            _warn_renamed(func, old, new)
        if new in out:
            raise ParameterError(
                f"{func}() got both {old}= (deprecated) and {new}=; pass only {new}=",
                argument=new,
            )
        out[new] = value
    if range_parts:
        if "scale_range" in out:
            raise ParameterError(
                f"{func}() got both scale_range= and the deprecated scale_min=/scale_max= "
                "(or low=/high=); pass only scale_range=",
                argument="scale_range",
            )
        if set(range_parts) != {0, 1}:
            if all(v is None for v in range_parts.values()):
                return out
            raise ParameterError(
                f"{func}(): scale_min= and scale_max= are replaced by scale_range=(min, max); "
                "give both ends",
                argument="scale_range",
            )
        lo, hi = range_parts[0], range_parts[1]
        if lo is not None or hi is not None:
            out["scale_range"] = (lo, hi)
    return out


def _raise_on_nan(func: str, arguments: Mapping[str, Any], params: Sequence[str]) -> None:
    """``nan_policy="raise"``: refuse a missing value in the columns the parameters name."""
    data = next(iter(arguments.values()))
    if not isinstance(data, pd.DataFrame):
        return
    for param in params:
        cols = arguments[param]
        for col in [cols] if isinstance(cols, str) else list(cols):
            if col not in data.columns:
                continue  # the function reports the missing column
            missing = data[col].isna().to_numpy()
            if missing.any():
                raise DataError(
                    f"{func}(): column {col!r} has {int(missing.sum())} missing value(s) at "
                    f"{rows_in(data, missing)} and nan_policy='raise'; use nan_policy='omit' to "
                    "drop those rows",
                    argument="nan_policy",
                )


def public(
    *,
    constraints: Mapping[str, Sequence[Constraint | None]] | None = None,
    renamed: Mapping[str, str] | None = None,
    old_positional: Sequence[str] = (),
    nan_columns: Sequence[str] = (),
) -> Callable[[F], F]:
    """Declare a public function's parameter constraints and its deprecated spellings.

    ``constraints`` maps a parameter to the list of accepted kinds (``None`` accepts ``None``).
    ``renamed`` maps an old keyword to its new name (``"scale_range[0]"`` / ``"[1]"`` for the two
    ends of the range). ``old_positional`` names, in their old order, the parameters that
    used to follow the ones still positional; passing them by position emits a FutureWarning.
    ``nan_columns`` names the parameters holding column names that ``nan_policy="raise"``
    checks for missing values (``"omit"`` leaves them to the function).
    The declarations are kept on the function as ``__ce_constraints__`` (the generated test
    reads them).
    """
    cons = {k: list(v) for k, v in (constraints or {}).items()}
    ren = dict(renamed or {})

    def decorate(f: F) -> F:
        sig = inspect.signature(f)
        name = f.__name__
        unknown = set(cons) - set(sig.parameters)
        if unknown:  # a declaration error, found at import time
            raise TypeError(f"constraints of {name}() name unknown parameters {sorted(unknown)}")
        n_pos = sum(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in sig.parameters.values()
        )

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            quiet: set[str] = set()
            if len(args) > n_pos and old_positional:
                extra = args[n_pos:]
                if len(extra) > len(old_positional):
                    raise TypeError(
                        f"{name}() takes {n_pos} positional argument(s) but {len(args)} were given"
                    )
                args = args[:n_pos]
                for old, value in zip(old_positional, extra):
                    new = ren.get(old, old)
                    new = "scale_range" if new.startswith("scale_range[") else new
                    warnings.warn(
                        f"{name}(): passing {old!r} by position is deprecated and will be "
                        f"removed in {REMOVED_IN}; use {new}= instead.",
                        FutureWarning,
                        stacklevel=2,
                    )
                    if old in kwargs:
                        raise TypeError(f"{name}() got multiple values for argument {old!r}")
                    kwargs[old] = value
                    quiet.add(old)
            if ren:
                kwargs = _apply_renames(name, kwargs, ren, quiet)
            if cons:
                try:
                    bound = sig.bind(*args, **kwargs)
                except TypeError:
                    return f(*args, **kwargs)  # let Python report the missing/unknown argument
                bound.apply_defaults()
                for pname, accepted in cons.items():
                    bound.arguments[pname] = _check(name, pname, bound.arguments[pname], accepted)
                if nan_columns and bound.arguments.get("nan_policy") == "raise":
                    _raise_on_nan(name, bound.arguments, nan_columns)
                return f(*bound.args, **bound.kwargs)
            return f(*args, **kwargs)

        wrapper.__ce_constraints__ = cons  # type: ignore[attr-defined]
        wrapper.__ce_renamed__ = ren  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
