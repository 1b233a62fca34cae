"""Timesheets approved by the client and the provider (issue 12).

Modules: ``codes`` (the T-13 list and typed day marks), ``calendar`` (the Russian production
calendar), ``schedules`` and ``prefill`` (a month from the schedule, the calendar and approved
absences), ``models`` and ``sheets`` (timesheets, cells, statuses, the audit trail), ``settings``
(the ``timesheets:`` section of app.yaml).
"""
