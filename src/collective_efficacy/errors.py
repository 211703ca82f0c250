"""Exceptions raised by collective_efficacy.

Every exception is a :class:`CollectiveEfficacyError`, which is also a :class:`ValueError`, so
``except ValueError`` in calling code keeps working. Messages name the column, the row(s) and the
offending value, and say what was expected.
"""

from __future__ import annotations

from collective_efficacy._messages import Message

__all__ = [
    "CollectiveEfficacyError",
    "ConvergenceWarning",
    "DataError",
    "InstrumentError",
    "MissingExtraError",
    "ParameterError",
    "ReadError",
    "ReliabilityWarning",
    "ResponseValidationError",
]


class CollectiveEfficacyError(ValueError):
    """Base class of every error raised on bad input.

    ``argument`` names the Python argument at fault, when there is one (``"min_n"``), so that
    the command line can name its option (``--min-n``) instead. ``keyed``, when given, is the
    same message as a catalogue code with parameters (:mod:`collective_efficacy._messages`):
    the report and the command line show it in their language. The exception's own text, what a
    Python caller sees, is English.
    """

    def __init__(
        self, *args: object, argument: str | None = None, keyed: Message | None = None
    ) -> None:
        super().__init__(*args)
        self.argument = argument
        self.keyed = keyed


class InstrumentError(CollectiveEfficacyError):
    """An instrument definition (YAML file or dict) is invalid."""


class DataError(CollectiveEfficacyError):
    """Input data cannot be used for the requested statistic (wrong column, type or shape)."""


class ParameterError(DataError, TypeError):
    """A parameter has a value outside its declared constraints (``argument`` names it).

    Also a :class:`TypeError`, so both ``except ValueError`` and ``except TypeError`` catch it.
    """


class ReadError(DataError):
    """A file cannot be read: missing, a folder, empty, corrupt, truncated, in another format than
    its extension says, or with rows that do not fit its header.

    The message names the file and what to do about it (e.g. the ``encoding=`` / ``--encoding``
    or ``sep=`` / ``--sep`` option, or saving the file again from the program that made it).
    """


class ResponseValidationError(CollectiveEfficacyError):
    """Survey responses do not match their instrument.

    The ``report`` attribute holds the full :class:`~collective_efficacy.responses.ValidationReport`
    with every problem; the message shows the first few.
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class MissingExtraError(CollectiveEfficacyError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install`` that fixes it."""


class ReliabilityWarning(UserWarning):
    """A reliability or agreement statistic is computable but suspicious (e.g. a reversed item)."""


class ConvergenceWarning(UserWarning):
    """A model fit did not reach a verified optimum."""


def require_extra(module: str, extra: str) -> object:
    """Import an optional module or raise :class:`MissingExtraError` naming the fix."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(
            f"This feature needs the optional package {module!r}. "
            f"Install it with: pip install 'collective-efficacy[{extra}]'"
        ) from exc
