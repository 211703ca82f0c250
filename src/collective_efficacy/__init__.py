"""collective_efficacy: measure the collective efficacy of neighbourhoods.

Instruments, validation and scoring of survey responses, reliability, within-community agreement
and multilevel aggregation, baseline-versus-end-of-cycle change and the 0-5 impact scale.

>>> import collective_efficacy as ce
>>> inst = ce.load_instrument("sampson1997")
"""

from __future__ import annotations

from . import datasets, disclosure, errors
from ._version import __version__
from .errors import (
    CollectiveEfficacyError,
    DataError,
    InstrumentError,
    ReadError,
    ResponseValidationError,
)
from .evaluation import Evaluation, evaluate
from .instrument import Instrument, Item, ResponseScale, Scale, list_instruments, load_instrument
from .io import read_responses
from .prepared import PreparedSurvey
from .report_models import ValidationReport
from .responses import ValidatedResponses, validate
from .scoring import aggregate, reverse_items, score

__all__ = [
    "CollectiveEfficacyError",
    "DataError",
    "Evaluation",
    "Instrument",
    "InstrumentError",
    "Item",
    "ReadError",
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
    "read_responses",
    "reverse_items",
    "score",
    "validate",
]

# Each statistics module declares its public names in its own __all__; they are re-exported here.
# (Star imports keep this file free of edit conflicts between modules.)
from . import export, plot
from .agreement import *  # noqa: F403
from .agreement import __all__ as _agreement_all
from .change import *  # noqa: F403
from .change import __all__ as _change_all
from .impact import *  # noqa: F403
from .impact import __all__ as _impact_all
from .mixed import *  # noqa: F403
from .mixed import __all__ as _mixed_all
from .multilevel_change import *  # noqa: F403
from .multilevel_change import __all__ as _multilevel_change_all
from .reliability import *  # noqa: F403
from .reliability import __all__ as _reliability_all
from .survey_design import *  # noqa: F403
from .survey_design import __all__ as _survey_design_all
from .weights import *  # noqa: F403
from .weights import __all__ as _weights_all

__all__ += [*_reliability_all, *_agreement_all, *_mixed_all, *_change_all, *_impact_all]
__all__ += _multilevel_change_all
__all__ += [*_survey_design_all, *_weights_all]
__all__ += ["PreparedSurvey", "export", "plot"]
from . import plan  # noqa: E402  (ce.plan: planning the next cycle)

__all__ += ["plan"]
from . import geography  # noqa: E402
from .geography import read_geometry  # noqa: E402

__all__ += ["geography", "read_geometry"]
from . import summaries  # noqa: E402  (per-community summaries that merge; any frame in)
from .summaries import CommunitySummary, merge_summaries, summarise  # noqa: E402

__all__ += ["CommunitySummary", "merge_summaries", "summaries", "summarise"]
