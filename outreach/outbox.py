"""The outbox: every message is a row before it is sent, and the send is idempotent by the row id.

A sender claims due rows (``pending`` → ``sending`` with a lease and the gateway it is about to use),
sends each under our id, and records the outcome. A sender killed anywhere leaves rows in
``sending``; once their lease has passed, the next sender asks the gateway by our id: found → sent,
not found → sent again, cannot be asked (SMS.ru, SMTP) → ``unknown`` with the reason, never resent.
A round that fails on every gateway waits (exponential backoff, injected clock) and is tried again;
after the last round the message is ``failed`` with the reason and, where allowed, a stand-in goes
by the other channel. Quiet hours and daily caps move a message to a later ``not_before``.

Each portal has its own outbox rows (``member_id``), opt-outs, bounces and daily caps; a sender serves one
portal, with that portal's ``outreach:`` settings.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from b24app.db import Database
from outreach.errors import ChannelError, GatewayUnusable, MessageRejected, OutcomeUnknown, RetriableError
from outreach.gateways.base import Gateway, Sms
from outreach.mail import Email, SmtpChannel
from outreach.models import (FAILED, GONE_OUT, PENDING, SENDING, SENT, UNKNOWN, OutreachBounce, OutreachMessage,
                             OutreachOptOut)
from outreach.phones import mask
from outreach.retry import call_with_retries, next_attempt_delay
from outreach.rules import day_start, next_day_start, outside_quiet_hours
from outreach.settings import OutreachSettings

log = logging.getLogger(__name__)

SMTP = "smtp"
OPTED_OUT = "получатель отказался от сообщений"


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Draft:
    """A message of the portal ``member_id`` to write into the outbox; ``key`` names its cause (one row
    per cause and portal)."""

    key: str
    kind: str
    channel: str
    address: str
    body: str
    subject: str = ""
    person_ref: str | None = None
    user_id: int | None = None
    reason: str | None = None
    time_zone: str | None = None
    not_before: datetime | None = None
    fallback_address: str | None = None
    fallback_subject: str = ""
    fallback_body: str = ""
    portal_code: str | None = None
    portal_message_id: str | None = None
    member_id: str = ""  # '' is the webhook's portal (b24app.portal.portal_key)
    status: str = PENDING      # FAILED with ``error`` records a message refused before any send
    error: str | None = None


def enqueue(db: Database, drafts: Iterable[Draft], now: datetime) -> list[int]:
    """Write the drafts whose key is new; returns the ids of the rows written (or already there)."""
    drafts = list(drafts)
    ids = []
    for start in range(0, len(drafts), 500):
        ids.extend(_enqueue_chunk(db, drafts[start:start + 500], now))
    return ids


def _enqueue_chunk(db: Database, drafts: list[Draft], now: datetime) -> list[int]:
    ids = []
    with db.write_lock, db.session() as session:
        known = {(member_id, key): row_id for member_id, key, row_id in session.execute(
            select(OutreachMessage.member_id, OutreachMessage.key, OutreachMessage.id).where(
                OutreachMessage.key.in_([d.key for d in drafts])))}
        for draft in drafts:
            if (draft.member_id, draft.key) in known:
                ids.append(known[(draft.member_id, draft.key)])
                continue
            row = OutreachMessage(**{**draft.__dict__, "not_before": draft.not_before or now}, attempts=0,
                                  created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            known[(draft.member_id, draft.key)] = row.id
            ids.append(row.id)
    return ids


@dataclass
class Channels:
    """What the sender sends through: SMTP and the SMS gateways in the order of app.yaml."""

    email: SmtpChannel | None = None
    gateways: list[Gateway] = field(default_factory=list)
    caps: dict[str, int | None] = field(default_factory=dict)   # daily cap per channel name
    rates: dict[str, float] = field(default_factory=dict)       # requests per second per gateway

    def gateway(self, name: str | None) -> Gateway | None:
        return next((g for g in self.gateways if g.name == name), None)


class Pacer:
    """At most ``rate`` calls per second per gateway (real time: it paces real requests)."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self.sleep = sleep
        self.next_at: dict[str, float] = {}

    def wait(self, name: str, rate: float | None) -> None:
        if not rate:
            return
        now = time.monotonic()
        at = max(now, self.next_at.get(name, now))
        if at > now:
            self.sleep(at - now)
        self.next_at[name] = at + 1.0 / rate


@dataclass
class Outcome:
    status: str
    gateway: str | None = None
    provider_id: str | None = None
    cost: object = None
    error: str | None = None
    retry_at: datetime | None = None
    bounce: bool = False


class Sender:
    """Sends the outbox rows of one portal (``portal``: its member_id) through that portal's channels."""

    def __init__(self, db: Database, settings: OutreachSettings, channels: Channels, clock: Clock, *, portal: str,
                 sleep: Callable[[float], None] = time.sleep, lease_s: float = 60.0, batch: int = 50) -> None:
        self.db = db
        self.portal = portal
        self.settings = settings
        self.channels = channels
        self.clock = clock
        self.sleep = sleep
        self.lease = timedelta(seconds=lease_s)
        self.batch = batch
        self.unusable: dict[str, str] = {}  # channel name -> why, for this sender's life
        self.pacer = Pacer(sleep)
        self.sent_today: dict[tuple[str, datetime], int] = {}

    # --- the loop ---------------------------------------------------------------------------------
    def run_until_idle(self, max_rounds: int = 1_000_000) -> int:
        """Send every due message; returns how many rows were handled."""
        handled = 0
        for _ in range(max_rounds):
            done = self.recover() + self.run_once()
            if not done:
                break
            handled += done
        return handled

    def run_once(self, only: Collection[int] | None = None) -> int:
        """Claim and send one batch of due rows (of ``only`` these ids, if given)."""
        rows = self._claim(only)
        if not rows:
            return 0
        outcomes = [(row, self._send(row)) for row in rows]
        self._record(outcomes)
        return len(rows)

    # --- claiming -----------------------------------------------------------------------------------
    def _claim(self, only: Collection[int] | None = None) -> list[OutreachMessage]:
        now = self.clock.now()
        with self.db.write_lock, self.db.session() as session:
            due = select(OutreachMessage).where(OutreachMessage.member_id == self.portal,
                                                OutreachMessage.status == PENDING, OutreachMessage.not_before <= now)
            if only is not None:
                due = due.where(OutreachMessage.id.in_(list(only)))
            rows = list(session.scalars(due.order_by(OutreachMessage.not_before, OutreachMessage.id)
                                        .limit(self.batch).with_for_update(skip_locked=True)))
            claimed: list[OutreachMessage] = []
            reserved: dict[str, int] = {}  # the caps count what this claim hands out
            for row in self._without_opted_out(session, rows, now):
                name = SMTP if row.channel == "email" else self._first_gateway(now, reserved)
                if self._hold(row, now, name):
                    continue
                row.status, row.lease_until, row.updated_at = SENDING, now + self.lease, now
                row.attempts += 1
                row.gateway = name
                if name:
                    reserved[name] = reserved.get(name, 0) + 1
                claimed.append(row)
        return claimed

    def _without_opted_out(self, session: Session, rows: list[OutreachMessage], now: datetime) -> list[OutreachMessage]:
        """An address that opted out after its message was queued gets nothing: the row fails with the reason."""
        opted = set(session.scalars(select(OutreachOptOut.address).where(
            OutreachOptOut.member_id == self.portal,
            OutreachOptOut.address.in_({row.address.lower() for row in rows})))) if rows else set()
        for row in rows:
            if row.address.lower() in opted:
                row.status, row.error, row.updated_at = FAILED, OPTED_OUT, now
        return [row for row in rows if row.address.lower() not in opted]

    def _hold(self, row: OutreachMessage, now: datetime, name: str | None) -> bool:
        """Quiet hours of the person or a full daily cap move the row later; True if moved."""
        later = outside_quiet_hours(now, self.settings.rules, row.time_zone)
        capped = (name is None and not self._all_unusable()) if row.channel == "sms" else self._cap_reached(
            SMTP, now, {})
        if capped:
            later = max(later, next_day_start(now, self.settings.rules))
        if later > now:
            row.not_before, row.updated_at = later, now
            return True
        return False

    def _all_unusable(self) -> bool:
        return all(g.name in self.unusable for g in self.channels.gateways)

    def _first_gateway(self, now: datetime, reserved: dict[str, int]) -> str | None:
        for gateway in self.channels.gateways:
            if gateway.name not in self.unusable and not self._cap_reached(gateway.name, now, reserved):
                return gateway.name
        return None

    def _cap_reached(self, name: str, now: datetime, reserved: dict[str, int]) -> bool:
        cap = self.channels.caps.get(name)
        return cap is not None and self._count_today(name, now) + reserved.get(name, 0) >= cap

    def _count_today(self, name: str, now: datetime) -> int:
        day = day_start(now, self.settings.rules)
        key = (name, day)
        if key not in self.sent_today:
            with self.db.read_session() as session:
                self.sent_today[key] = session.scalar(select(func.count()).select_from(OutreachMessage).where(
                    OutreachMessage.member_id == self.portal, OutreachMessage.gateway == name,
                    OutreachMessage.sent_at >= day,
                    OutreachMessage.status.in_(GONE_OUT + ("delivered",)))) or 0
        return self.sent_today[key]

    # --- sending --------------------------------------------------------------------------------------
    def _send(self, row: OutreachMessage) -> Outcome:
        if row.channel == "email":
            return self._send_email(row)
        return self._send_sms(row)

    def _send_email(self, row: OutreachMessage) -> Outcome:
        channel = self.channels.email
        if channel is None or SMTP in self.unusable:
            return self._round_failed(row, self.unusable.get(SMTP, "e-mail не настроен (outreach.email)"))
        letter = Email(row.id, row.address, row.subject, row.body)
        try:
            message_id = call_with_retries(lambda: channel.send(letter), attempts=self.settings.retry.attempts,
                                           sleep=self.sleep)
        except RetriableError as exc:
            return self._round_failed(row, exc.reason)
        except GatewayUnusable as exc:
            self.unusable[SMTP] = exc.reason
            return self._round_failed(row, exc.reason)
        except MessageRejected as exc:
            return Outcome(FAILED, SMTP, error=exc.reason, bounce=True)
        except OutcomeUnknown as exc:
            return Outcome(UNKNOWN, SMTP, error=_unknown_text(exc.reason))
        return Outcome(SENT, SMTP, provider_id=message_id)

    def _send_sms(self, row: OutreachMessage) -> Outcome:
        sms = Sms(row.id, row.address, row.body)
        last_error = "; ".join(self.unusable.values()) or "нет доступного SMS-шлюза (outreach.sms_gateways)"
        for gateway in self._candidates(row):
            if gateway.name != row.gateway:
                self._note_gateway(row, gateway.name)
            try:
                self.pacer.wait(gateway.name, self.channels.rates.get(gateway.name))
                accepted = call_with_retries(lambda g=gateway: g.send(sms), attempts=self.settings.retry.attempts,
                                             sleep=self.sleep)
            except RetriableError as exc:
                last_error = exc.reason
                continue
            except GatewayUnusable as exc:
                self.unusable[gateway.name] = last_error = exc.reason
                log.warning("outreach: gateway %s unusable: %s", gateway.name, exc.reason)
                continue
            except MessageRejected as exc:
                return Outcome(FAILED, gateway.name, error=exc.reason)
            except OutcomeUnknown as exc:
                log.info("outreach: message %s to %s: outcome unknown (%s)", row.id, mask(row.address), exc.reason)
                # recover() asks the gateway by our id once the lease has passed
                return Outcome(SENDING, gateway.name, error=exc.reason, retry_at=self.clock.now() + self.lease)
            return Outcome(SENT, gateway.name, accepted.provider_id, accepted.cost)
        return self._round_failed(row, last_error)

    def _candidates(self, row: OutreachMessage) -> list[Gateway]:
        now = self.clock.now()
        names = [g.name for g in self.channels.gateways]
        start = names.index(row.gateway) if row.gateway in names else 0
        return [g for g in self.channels.gateways[start:]
                if g.name not in self.unusable and (g.name == row.gateway or not self._cap_reached(g.name, now, {}))]

    def _note_gateway(self, row: OutreachMessage, name: str) -> None:
        """Before trying another gateway, the row says which one: a kill now is recovered there."""
        row.gateway = name
        with self.db.write_lock, self.db.session() as session:
            session.get(OutreachMessage, row.id).gateway = name  # type: ignore[union-attr]

    def _round_failed(self, row: OutreachMessage, reason: str) -> Outcome:
        retry = self.settings.retry
        if row.attempts >= retry.rounds:
            return Outcome(FAILED, row.gateway, error=f"не отправлено после {row.attempts} попыток: {reason}")
        delay = next_attempt_delay(row.attempts, timedelta(seconds=retry.backoff_s),
                                   timedelta(seconds=retry.max_backoff_s))
        return Outcome(PENDING, row.gateway, error=reason, retry_at=self.clock.now() + delay)

    # --- recording ------------------------------------------------------------------------------------
    def _record(self, outcomes: list[tuple[OutreachMessage, Outcome]]) -> None:
        now = self.clock.now()
        with self.db.write_lock, self.db.session() as session:
            for claimed, outcome in outcomes:
                row = session.get(OutreachMessage, claimed.id)
                if row is None or row.status != SENDING:
                    continue
                self._apply(session, row, outcome, now)

    def _apply(self, session: Session, row: OutreachMessage, outcome: Outcome, now: datetime) -> None:
        row.status, row.gateway, row.error, row.updated_at = outcome.status, outcome.gateway, outcome.error, now
        if outcome.status == SENT:
            row.provider_id, row.cost, row.sent_at, row.lease_until = outcome.provider_id, outcome.cost, now, None
            key = (outcome.gateway or "", day_start(now, self.settings.rules))
            self.sent_today[key] = self.sent_today.get(key, 0) + 1
        elif outcome.status == PENDING:
            row.not_before, row.lease_until = outcome.retry_at or now, None
        elif outcome.status == SENDING:
            row.lease_until = outcome.retry_at or now + self.lease
        elif outcome.status == FAILED:
            row.lease_until = None
            if outcome.bounce:
                session.merge(OutreachBounce(member_id=row.member_id, address=row.address.lower(),
                                             reason=outcome.error or "", created_at=now))
            self._fall_back(session, row, now)

    def _fall_back(self, session: Session, row: OutreachMessage, now: datetime) -> None:
        """A finally failed message goes by the other channel, once, where app.yaml allows it."""
        if not self.settings.rules.fallback or not row.fallback_address or row.replaces_id is not None:
            return
        channel = "sms" if row.channel == "email" else "email"
        session.add(OutreachMessage(
            member_id=row.member_id, key=f"{row.key}:fallback", person_ref=row.person_ref, user_id=row.user_id,
            kind=row.kind,
            reason=row.reason, channel=channel, address=row.fallback_address, time_zone=row.time_zone,
            subject=row.fallback_subject, body=row.fallback_body, status=PENDING, attempts=0, not_before=now,
            created_at=now, updated_at=now, replaces_id=row.id, portal_code=row.portal_code,
            portal_message_id=row.portal_message_id))

    # --- recovery -------------------------------------------------------------------------------------
    def recover(self) -> int:
        """Rows left in ``sending`` past their lease: ask the gateway by our id before any resend."""
        now = self.clock.now()
        with self.db.read_session() as session:
            rows = list(session.scalars(select(OutreachMessage).where(
                OutreachMessage.member_id == self.portal, OutreachMessage.status == SENDING,
                OutreachMessage.lease_until <= now).limit(self.batch)))
        outcomes = [(row, self._resolve(row)) for row in rows]
        if outcomes:
            self._record(outcomes)
        return len(outcomes)

    def _resolve(self, row: OutreachMessage) -> Outcome:
        gateway = self.channels.gateway(row.gateway) if row.channel == "sms" else None
        if gateway is None or not gateway.can_find_by_our_id:
            return Outcome(UNKNOWN, row.gateway, error=_unknown_text(row.error or "отправка прервалась"))
        try:
            found = call_with_retries(lambda: gateway.find(Sms(row.id, row.address, row.body)),
                                      attempts=self.settings.retry.attempts, sleep=self.sleep)
        except ChannelError as exc:
            return Outcome(SENDING, row.gateway, error=f"проверка по нашему номеру не удалась: {exc.reason}",
                           retry_at=self.clock.now() + self.lease)
        if found is None:
            return Outcome(PENDING, row.gateway, error=None, retry_at=self.clock.now())
        return Outcome(SENT, row.gateway, found.provider_id, found.cost)


def _unknown_text(reason: str) -> str:
    return (f"результат отправки неизвестен ({reason}); шлюз не позволяет проверить по нашему номеру — "
            "проверьте в личном кабинете шлюза, автоматически не отправляется повторно")
