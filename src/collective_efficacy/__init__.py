"""collective_efficacy: measure the collective efficacy of neighbourhoods.

Instruments, validation and scoring of survey responses, reliability, within-community agreement
and multilevel aggregation, baseline-versus-end-of-cycle change and the 0-5 impact scale.

>>> import collective_efficacy as ce
>>> inst = ce.load_instrument("sampson1997")
"""

from __future__ import annotations

import gc as _gc
from typing import TYPE_CHECKING

# Start-up: the cyclic garbage collector paused while the package and its dependencies load
# (numpy, pandas, scipy, pydantic: a few hundred thousand objects, none of them garbage).
# Its collections, triggered again and again by the allocations of the imports, are a tenth
# of the import time (issue 16; ``tests/test_cli_startup.py``). Restored even if an import fails.
_gc_was_enabled = _gc.isenabled()
_gc.disable()
try:
    from collective_efficacy import datasets, disclosure, errors
    from collective_efficacy._version import __version__
    from collective_efficacy.errors import (
        CollectiveEfficacyError,
        DataError,
        InstrumentError,
        ReadError,
        ResponseValidationError,
    )
    from collective_efficacy.evaluation import Evaluation, evaluate
    from collective_efficacy.instrument import (
        Instrument,
        Item,
        ResponseScale,
        Scale,
        list_instruments,
        load_instrument,
    )
    from collective_efficacy.prepared import PreparedSurvey
    from collective_efficacy.responses import ValidatedResponses, validate
    from collective_efficacy.responses.io import ResponseFile, read_response_file, read_responses
    from collective_efficacy.responses.validation_report import ValidationReport
    from collective_efficacy.scoring import aggregate, reverse_items, score

    __all__ = [
        "CollectiveEfficacyError",
        "DataError",
        "Evaluation",
        "Instrument",
        "InstrumentError",
        "Item",
        "ReadError",
        "ResponseFile",
        "ResponseScale",
        "ResponseValidationError",
        "Scale",
        "ValidatedResponses",
        "ValidationReport",
        "__version__",
        "aggregate",
        "datasets",
        "disclosure",
        "errors",
        "evaluate",
        "list_instruments",
        "load_instrument",
        "read_response_file",
        "read_responses",
        "reverse_items",
        "score",
        "validate",
    ]

    # Each statistics module declares its public names in its own __all__; they are re-exported here.
    # (Star imports keep this file free of edit conflicts between modules.)
    from collective_efficacy import export
    from collective_efficacy.agreement import *  # noqa: F403
    from collective_efficacy.agreement import __all__ as _agreement_all
    from collective_efficacy.change import *  # noqa: F403
    from collective_efficacy.change import __all__ as _change_all
    from collective_efficacy.impact import *  # noqa: F403
    from collective_efficacy.impact import __all__ as _impact_all
    from collective_efficacy.multilevel.change_model import *  # noqa: F403
    from collective_efficacy.multilevel.change_model import __all__ as _multilevel_change_all
    from collective_efficacy.multilevel.mixed import *  # noqa: F403
    from collective_efficacy.multilevel.mixed import __all__ as _mixed_all
    from collective_efficacy.reliability import *  # noqa: F403
    from collective_efficacy.reliability import __all__ as _reliability_all
    from collective_efficacy.report import plot
    from collective_efficacy.survey_design import *  # noqa: F403
    from collective_efficacy.survey_design import __all__ as _survey_design_all
    from collective_efficacy.survey_design.weights import *  # noqa: F403
    from collective_efficacy.survey_design.weights import __all__ as _weights_all

    __all__ += [*_reliability_all, *_agreement_all, *_mixed_all, *_change_all, *_impact_all]
    __all__ += _multilevel_change_all
    __all__ += [*_survey_design_all, *_weights_all]
    __all__ += ["PreparedSurvey", "export", "plot"]
    if TYPE_CHECKING:  # for the type checker; at run time __getattr__ imports it on first use
        from collective_efficacy import plan
    __all__ += ["plan"]  # ce.plan (planning the next cycle): imported on first use, see __getattr__
    from collective_efficacy import geography
    from collective_efficacy.geography import read_geometry

    __all__ += ["geography", "read_geometry"]
    from collective_efficacy.report.styling import IMPACT_PALETTE, NO_LEVEL_COLOUR

    __all__ += ["IMPACT_PALETTE", "NO_LEVEL_COLOUR"]

    # Module paths from before the topic subpackages stay importable (the same module objects, so
    # ``mock.patch("collective_efficacy.mixed.x")`` still patches the code that runs).
    import sys as _sys

    from collective_efficacy import report as _report
    from collective_efficacy.multilevel import mixed

    _sys.modules[f"{__name__}.mixed"] = mixed
    _sys.modules[f"{__name__}.plot"] = plot
    _sys.modules[f"{__name__}.export.report"] = _report
    setattr(export, "report", _report)  # noqa: B010

    from collective_efficacy import summaries
    from collective_efficacy.summaries import CommunitySummary, merge_summaries, summarise

    __all__ += ["CommunitySummary", "merge_summaries", "summaries", "summarise"]
finally:
    if _gc_was_enabled:
        # What the imports made (some 200,000 objects, all still in the youngest generation)
        # moved to the oldest at once (freeze, then unfreeze: two list splices), unless the
        # caller froze objects of its own: else the first allocation after enabling starts a
        # collection that walks them all (70 ms of start-up). Nothing is lost: the oldest
        # generation is collected as before.
        try:
            if _gc.get_freeze_count() == 0:
                _gc.freeze()
                _gc.unfreeze()
        finally:  # even on an interrupt between the two: never left disabled
            _gc.enable()


def __getattr__(name: str) -> object:
    """``ce.plan``, imported on first use: the command line's ``evaluate`` never needs it
    (its import is a tenth of a second of start-up; ``tests/test_cli_startup.py``)."""
    if name == "plan":
        import importlib

        return importlib.import_module(f"{__name__}.plan")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
