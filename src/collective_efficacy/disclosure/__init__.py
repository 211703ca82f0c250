r"""Disclosure control: the one implementation of suppression for everything that is published.

A community (in one wave) with fewer than ``min_n`` respondents is *suppressed*: no n, mean or
other statistic of it is published. Hiding its own row is not enough, because published figures
can be combined (see the documentation page *Privacy*). This module guarantees that no combination
of published figures recovers a suppressed community's n or any of its statistics, with three
rules:

1. **Pooled statistics use shown communities only.** Reliability, item tables, omega, the ICC
   (ANOVA sums ``n``, ``n0``, ``msb``, ``msw``, ``F``, ``n_singletons``), agreement, the
   ecometric model and the overall change are computed on the respondents of the communities
   that are shown in that wave (:func:`shown_respondents`). A pool minus the shown communities
   is then always empty: differencing, linear systems in n and n\ :sup:`2` and cross-wave
   combinations have nothing to solve. A wave without any shown community publishes no pooled
   statistic at all.
2. **Secondary suppression** (:func:`secondary_suppression`): in a wave with a community
   suppressed for size, the smallest shown community is suppressed too, so that no published
   total minus the shown communities isolates fewer than ``min_n`` respondents. Whether it
   happens depends only on which communities are small, not on their size.
3. **Counts of rows are published only when they narrow no suppressed community**
   (:func:`total_is_safe`): the rows read and used in a wave include the suppressed
   communities, so the rows used minus the shown communities give their total. That total is
   published only when every community suppressed for size could still hold any number from 1
   to ``min_n - 1`` respondents given the total and what is known of the others (a secondarily
   suppressed community holds between ``min_n`` and the smallest shown community); otherwise
   the counts are withheld.

:func:`one_pattern` makes suppression one decision per community and wave across the scales
of a table (a community suppressed on one scale is suppressed on all; related scales, such as
collective efficacy as the mean of social cohesion and informal social control, would otherwise
give away the hidden one, and a community shown on one scale but not another would bound its n).
:func:`hide_suppressed` blanks the n, ratings and evidence of suppressed rows in the
per-community tables and :func:`publishable_table` applies 2. and the blanking to a table of
community scores (the ``score`` command's communities.csv). :func:`aggregate` and the other
statistics functions keep full detail for the analyst; only what is published passes here.
"""

from __future__ import annotations

# the public names; the shared helpers are imported from ._rules and ._counts by their users
from collective_efficacy.disclosure._counts import (
    counts_publishable,
    total_is_safe,
)
from collective_efficacy.disclosure._rules import (
    ABSENT_REASON,
    HIDDEN_WHEN_SUPPRESSED,
    SECONDARY_REASON,
    hide_suppressed,
    one_pattern,
    publishable_table,
    secondary_suppression,
    shown_respondents,
)

__all__ = [
    "ABSENT_REASON",
    "HIDDEN_WHEN_SUPPRESSED",
    "SECONDARY_REASON",
    "counts_publishable",
    "hide_suppressed",
    "one_pattern",
    "publishable_table",
    "secondary_suppression",
    "shown_respondents",
    "total_is_safe",
]
