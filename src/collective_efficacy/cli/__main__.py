"""``python -m collective_efficacy.cli``: the command line."""

from collective_efficacy.cli import console_main

console_main()
