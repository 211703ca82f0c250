"""``python -m collective_efficacy.cli``: the command line."""

import sys

from collective_efficacy.cli import main

sys.exit(main())
