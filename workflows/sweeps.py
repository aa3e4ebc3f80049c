"""Every timer kind's finder, in the order a sweep runs them (the runner is bot/sweeps.py)."""

from __future__ import annotations

from workflows.clocks import clock_finders
from workflows.deadlines import followups_due
from workflows.digests import digests_due
from workflows.notices import reports_due
from workflows.publicity import publications_due
from workflows.questions import questions_due
from workflows.summary import summaries_due
from workflows.timers import Finder
from workflows.visits import missed_visits, visits_to_open

# Every stage's clock (workflows/clocks.py): missed deadlines first, then reminders (a reminder
# whose deadline has passed is not sent any more); then what is not a stage's clock.
FINDERS: tuple[Finder, ...] = (
    *clock_finders(),
    followups_due,
    visits_to_open,
    missed_visits,
    digests_due,
    questions_due,  # behalf (issue 16)
    publications_due,  # publicity (issue 17)
    summaries_due,  # publicity (issue 17): the monthly summary in the 公示 channel
    reports_due,  # notices (issue 17): a notice's final report to its sender
)
