"""Who needs reaching, and by which channel: a pure function of small inputs.

Inputs are what the portal (user.get) and the directory (1C people) say; the result lists each
person to reach with the reason, grouped by legal entity and department for `b24app outreach plan`.
Channel: e-mail if 1C has one and no invitation to it bounced, else SMS to the E.164 phone.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from outreach.phones import try_e164

NEVER_LOGGED_IN = "never_logged_in"
INVITATION_NOT_ACCEPTED = "invitation_not_accepted"
NO_EMAIL = "no_email"
INVITATION_BOUNCED = "invitation_bounced"
REASONS = {NEVER_LOGGED_IN: "не входил на портал", INVITATION_NOT_ACCEPTED: "не принял приглашение",
           NO_EMAIL: "нет e-mail в 1С", INVITATION_BOUNCED: "приглашение не доставлено (адрес отклонён)"}


@dataclass(frozen=True)
class PortalAccount:
    """A Bitrix24 user as user.get shows it (LAST_LOGIN, the invitation state)."""

    user_id: int
    active: bool
    last_login: datetime | None
    invitation_pending: bool


@dataclass(frozen=True)
class Employee:
    """A 1C person as the directory knows them; ``user_id`` is their Bitrix24 user, if any."""

    person_ref: str
    full_name: str
    first_names: str
    email: str | None
    phone: str | None
    department: str
    legal_entity: str
    time_zone: str | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class Target:
    """One person to reach: ``channel`` is "email", "sms", or None when we have no way to."""

    employee: Employee
    reason: str
    channel: str | None
    address: str | None

    @property
    def reason_text(self) -> str:
        return REASONS[self.reason]


def plan(employees: Iterable[Employee], accounts: Mapping[int, PortalAccount],
         bounced: frozenset[str] | set[str]) -> list[Target]:
    """Every employee who needs reaching, with the reason and channel; everybody else is left out."""
    targets = []
    for employee in employees:
        email = (employee.email or "").strip().lower() or None
        is_bounced = email is not None and email in bounced
        reason = _reason(employee, email, is_bounced, accounts)
        if reason is None:
            continue
        channel, address = _channel(employee, email, is_bounced)
        targets.append(Target(employee, reason, channel, address))
    return targets


def _reason(employee: Employee, email: str | None, is_bounced: bool,
            accounts: Mapping[int, PortalAccount]) -> str | None:
    if email is None:
        return NO_EMAIL
    if is_bounced:
        return INVITATION_BOUNCED
    account = accounts.get(employee.user_id) if employee.user_id is not None else None
    if account is None or not account.active:
        return None  # not invited yet (the sync will) or dismissed
    if account.invitation_pending:
        return INVITATION_NOT_ACCEPTED
    if account.last_login is None:
        return NEVER_LOGGED_IN
    return None


def _channel(employee: Employee, email: str | None, is_bounced: bool) -> tuple[str | None, str | None]:
    if email and not is_bounced:
        return "email", email
    phone = try_e164(employee.phone)
    return ("sms", phone) if phone else (None, None)


def by_unit(targets: Iterable[Target]) -> dict[tuple[str, str], Counter[str]]:
    """Reasons counted per (legal entity, department), sorted by name."""
    groups: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for target in targets:
        groups[(target.employee.legal_entity, target.employee.department)][target.reason] += 1
    return dict(sorted(groups.items()))
