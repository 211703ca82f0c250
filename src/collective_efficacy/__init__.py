"""collective_efficacy: measure the collective efficacy of neighbourhoods.

Instruments, validation and scoring of survey responses, reliability, within-community agreement
and multilevel aggregation, baseline-versus-end-of-cycle change and the 0-5 impact scale.

>>> import collective_efficacy as ce
>>> inst = ce.load_instrument("sampson1997")
"""

from __future__ import annotations

from . import errors
from .errors import CollectiveEfficacyError, DataError, InstrumentError, ResponseValidationError

__version__ = "0.1.0"

__all__ = [
    "CollectiveEfficacyError",
    "DataError",
    "InstrumentError",
    "ResponseValidationError",
    "__version__",
    "errors",
]

# Each statistics module declares its public names in its own __all__; they are re-exported here.
# (Star imports keep this file free of edit conflicts between modules.)
from .reliability import *  # noqa: E402, F403
from .reliability import __all__ as _reliability_all  # noqa: E402
from .agreement import *  # noqa: E402, F403
from .agreement import __all__ as _agreement_all  # noqa: E402
from .mixed import *  # noqa: E402, F403
from .mixed import __all__ as _mixed_all  # noqa: E402
from .change import *  # noqa: E402, F403
from .change import __all__ as _change_all  # noqa: E402

__all__ += [*_reliability_all, *_agreement_all, *_mixed_all, *_change_all]
