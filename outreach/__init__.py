"""Outreach: reach every employee (e-mail, SMS) and keep approvals moving (docs/outreach.md).

Channels (mail, gateways), templates, the planner of who needs reaching, the rules, the outbox
sender, the portal's SMS provider and approval reminders. Reads who is who only through
``sync_jobs.directory``.
"""
