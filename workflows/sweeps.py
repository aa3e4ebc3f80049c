"""Every timer kind's finder, in the order a sweep runs them (the runner is bot/sweeps.py)."""

from __future__ import annotations

from workflows.deadlines import (
    followups_due,
    lapsed_offers,
    overdue_tasks,
    reminders_due,
    unconfirmed,
)
from workflows.digests import digests_due
from workflows.questions import questions_due
from workflows.timers import Finder
from workflows.visits import missed_visits, visits_to_open

# Missed deadlines first: a reminder whose deadline has passed is not sent any more.
FINDERS: tuple[Finder, ...] = (
    lapsed_offers,
    overdue_tasks,
    reminders_due,
    unconfirmed,
    followups_due,
    visits_to_open,
    missed_visits,
    digests_due,
    questions_due,  # behalf (issue 16)
)
