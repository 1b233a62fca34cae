"""The rules every outgoing message obeys, as pure functions of an injected ``now``:
at most one message per person per N days, stop after K of one kind, opt-out, quiet hours in the
employee's time zone, a daily cap per channel."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach.settings import Rules


@dataclass(frozen=True)
class History:
    """What the outbox says about one person: the last message and how many of this kind went out."""

    last_at: datetime | None = None
    of_kind: int = 0
    opted_out: bool = False


@dataclass(frozen=True)
class Decision:
    """Send at ``send_at`` (UTC), or ``skip`` with a Russian reason."""

    send_at: datetime | None = None
    skip: str | None = None


def decide(now: datetime, history: History, rules: Rules, time_zone: str | None) -> Decision:
    if history.opted_out:
        return Decision(skip="отказался от сообщений")
    if rules.max_reminders and history.of_kind >= rules.max_reminders:
        return Decision(skip=f"уже отправлено напоминаний: {history.of_kind}")
    if history.last_at is not None and rules.min_interval_days:
        allowed = history.last_at + timedelta(days=rules.min_interval_days)
        if now < allowed:
            return Decision(skip=f"недавно писали; следующее сообщение не раньше "
                                 f"{allowed.astimezone(zone_of(time_zone, rules)):%d.%m.%Y %H:%M}")
    return Decision(send_at=outside_quiet_hours(now, rules, time_zone))


def zone_of(time_zone: str | None, rules: Rules) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone or rules.time_zone)
    except (ValueError, KeyError):
        return ZoneInfo(rules.time_zone)


def outside_quiet_hours(now: datetime, rules: Rules, time_zone: str | None) -> datetime:
    """``now`` if it is outside the quiet hours of the person's zone, else the end of them (UTC)."""
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return now
    zone = zone_of(time_zone, rules)
    local = now.astimezone(zone)
    if not _quiet(local.time(), start, end):
        return now
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)


def _quiet(moment: time, start: time, end: time) -> bool:
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def next_day_start(now: datetime, rules: Rules) -> datetime:
    """Midnight after ``now`` in the service's zone: when a daily cap opens again (UTC)."""
    zone = ZoneInfo(rules.time_zone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=zone).astimezone(now.tzinfo)


def day_start(now: datetime, rules: Rules) -> datetime:
    """Midnight before ``now`` in the service's zone (UTC): the daily caps count from here."""
    zone = ZoneInfo(rules.time_zone)
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone).astimezone(now.tzinfo)
