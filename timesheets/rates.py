"""Hourly rates per client and position, with validity dates, set by the provider manager.

Setting a rate from a date closes the rate in force the day before, so for each (client, position)
at most one rate holds on any date; a rate change inside a month splits its hours (see invoice).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from timesheets.models import TimesheetRate
from timesheets.sheets import TimesheetError


class BadRate(TimesheetError):
    pass


@dataclass(frozen=True)
class Rate:
    client_key: str
    position: str
    kopecks: int
    valid_from: dt.date
    valid_to: dt.date | None

    def holds_on(self, date: dt.date) -> bool:
        return self.valid_from <= date and (self.valid_to is None or date <= self.valid_to)


def parse_rubles(text: str) -> int:
    """"450", "450,50", "1 200.5" -> kopecks; refuses what is not a positive amount."""
    try:
        amount = Decimal(str(text).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        raise BadRate(f"«{text}»: ставка — число рублей, например 450 или 450,50") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise BadRate(f"«{text}»: ставка — положительное число рублей с копейками не мельче 0,01")
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def set_rate(session: Session, member_id: str, client_key: str, position: str, kopecks: int, valid_from: dt.date,
             actor: int | None, now: dt.datetime) -> None:
    """A new rate of portal ``member_id`` from ``valid_from``: the rate in force then ends the day before;
    later ones stay."""
    if kopecks <= 0:
        raise BadRate("ставка должна быть больше нуля")
    rows = list(session.scalars(select(TimesheetRate).where(
        TimesheetRate.member_id == member_id, TimesheetRate.client_key == client_key,
        TimesheetRate.position == position).with_for_update()))
    same_day = next((row for row in rows if row.valid_from == valid_from), None)
    if same_day is not None:
        same_day.rate_kopecks, same_day.set_by, same_day.set_at = kopecks, actor, now
        return
    later = min((row.valid_from for row in rows if row.valid_from > valid_from), default=None)
    for row in rows:
        if row.valid_from < valid_from and (row.valid_to is None or row.valid_to >= valid_from):
            row.valid_to = valid_from - dt.timedelta(days=1)
    session.add(TimesheetRate(member_id=member_id, client_key=client_key, position=position, rate_kopecks=kopecks,
                              valid_from=valid_from, valid_to=later - dt.timedelta(days=1) if later else None, set_by=actor, set_at=now))


def rates_between(session: Session, member_id: str, start: dt.date, end: dt.date,
                  client_keys: Iterable[str] | None = None) -> list[Rate]:
    statement = select(TimesheetRate).where(
        TimesheetRate.member_id == member_id, TimesheetRate.valid_from <= end,
        (TimesheetRate.valid_to.is_(None)) | (TimesheetRate.valid_to >= start))
    if client_keys is not None:
        statement = statement.where(TimesheetRate.client_key.in_(list(client_keys)))
    return [Rate(row.client_key, row.position, row.rate_kopecks, row.valid_from, row.valid_to)
            for row in session.scalars(statement.order_by(TimesheetRate.valid_from))]
