"""From who needs reaching to outbox drafts: the rules decide, the templates write.

``compose`` is pure (a dry run shows exactly its result); ``load_history`` reads what the outbox
already holds per person, and the opt-outs.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from b24app.db import Database
from outreach.models import GONE_OUT, PENDING, OutreachBounce, OutreachMessage, OutreachOptOut
from outreach.outbox import Draft
from outreach.planner import Target
from outreach.rules import History, decide
from outreach.settings import OutreachSettings

INVITATION = "invitation"


@dataclass(frozen=True)
class Held:
    """A target the rules hold back, with the reason (Russian)."""

    target: Target
    why: str


def compose(targets: Iterable[Target], settings: OutreachSettings, history: Mapping[str, History],
            now: datetime, portal: str, kind: str = INVITATION) -> tuple[list[Draft], list[Held]]:
    """The portal's drafts for ``targets`` and those the rules hold back."""
    drafts, held = [], []
    for target in targets:
        if target.channel is None or target.address is None:
            held.append(Held(target, "нет ни e-mail, ни телефона"))
            continue
        past = history.get(target.employee.person_ref, History())
        decision = decide(now, past, settings.rules, target.employee.time_zone)
        if decision.skip:
            held.append(Held(target, decision.skip))
            continue
        drafts.append(_draft(target, settings, past, decision.send_at or now, portal, kind))
    return drafts, held


def _draft(target: Target, settings: OutreachSettings, past: History, send_at: datetime, portal: str,
           kind: str) -> Draft:
    person = target.employee
    values = {"name": person.first_names, "full_name": person.full_name, "company": settings.company,
              "portal_url": settings.portal_url, "login": person.email if target.channel == "email" else "",
              "reason": target.reason_text}
    text = settings.templates.render(kind, target.channel or "sms", values)
    fallback_channel = "sms" if target.channel == "email" else None
    fallback_address = _phone_of(target) if fallback_channel else None
    fallback = settings.templates.render(kind, "sms", {**values, "login": person.email or ""}) \
        if fallback_address else None
    return Draft(key=f"{kind}:{person.person_ref}:{past.of_kind + 1}", kind=kind, channel=target.channel or "sms",
                 address=target.address or "", subject=text.subject, body=text.text, person_ref=person.person_ref,
                 user_id=person.user_id, reason=target.reason, time_zone=person.time_zone, not_before=send_at,
                 fallback_address=fallback_address, fallback_subject="",
                 fallback_body=fallback.text if fallback else "", member_id=portal)


def _phone_of(target: Target) -> str | None:
    from outreach.phones import try_e164

    return try_e164(target.employee.phone)


def load_history(db: Database, portal: str, kind: str = INVITATION) -> dict[str, History]:
    """Per person of the portal: the last message that went out (or waits) and how many of ``kind``; opt-outs."""
    history: dict[str, History] = {}
    opted = opted_out_addresses(db, portal)
    with db.read_session() as session:
        rows = session.execute(select(OutreachMessage.person_ref, OutreachMessage.kind, OutreachMessage.created_at,
                                      OutreachMessage.address).where(
            OutreachMessage.member_id == portal, OutreachMessage.person_ref.is_not(None),
            OutreachMessage.status.in_(GONE_OUT + (PENDING, "delivered"))))
        for person_ref, row_kind, created_at, address in rows:
            past = history.get(person_ref, History())
            last = max(filter(None, (past.last_at, created_at)))
            history[person_ref] = History(last, past.of_kind + (row_kind == kind),
                                          past.opted_out or address.lower() in opted)
    return history


def opted_out_addresses(db: Database, portal: str) -> set[str]:
    with db.read_session() as session:
        return set(session.scalars(select(OutreachOptOut.address).where(OutreachOptOut.member_id == portal)))


def bounced_addresses(db: Database, portal: str) -> set[str]:
    with db.read_session() as session:
        return set(session.scalars(select(OutreachBounce.address).where(OutreachBounce.member_id == portal)))


def apply_opt_outs(history: dict[str, History], targets: Iterable[Target], opted: set[str]) -> None:
    """Mark people whose address opted out (also those never written to before)."""
    for target in targets:
        if target.address and target.address.lower() in opted:
            past = history.get(target.employee.person_ref, History())
            history[target.employee.person_ref] = History(past.last_at, past.of_kind, True)
