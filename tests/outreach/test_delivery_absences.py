"""Delivery statuses asked of the gateways, an opt-out that arrives after the message was queued, and the
absences of approvers with their substitutes (real database, fake gateways over HTTP, injected clock)."""
from __future__ import annotations

import datetime as dt

import pytest

from emulators.sms import RunningGateways
from outreach.absences import (AbsenceError, absence_on, absences, remove_absence, remove_by_source, set_absence,
                               substitute_on)
from outreach.delivery import poll_deliveries
from outreach.models import OutreachOptOut
from outreach.outbox import Channels, enqueue
from tests.outreach.conftest import ManualClock, hook
from tests.outreach.test_outbox import NOON, rows, sender, sms, smsc

PORTAL = "a" * 32
DAY = dt.date(2026, 12, 31)


def test_delivery_is_asked_until_final_and_not_too_often(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    enqueue(db, [sms("m1"), sms("m2", phone="+79161234568")], NOON)
    clock = ManualClock(NOON)
    channels = Channels(gateways=[smsc(gateways)])
    sender(db, channels, clock).run_until_idle()
    at_gateway = {m["our_id"]: m["provider_id"] for m in hook(gateways, "messages", method="GET")}
    first, second = rows(db)
    hook(gateways, "deliver", {"status": "delivered", "provider_id": at_gateway[str(first.id)]})
    hook(gateways, "deliver", {"status": "undelivered", "provider_id": at_gateway[str(second.id)]})
    assert poll_deliveries(db, "", channels, clock) == 0  # sent a moment ago: not asked yet
    clock.advance(minutes=11)
    assert poll_deliveries(db, "", channels, clock) == 2
    first, second = rows(db)
    assert (first.status, first.error) == ("delivered", None)
    assert second.status == "undelivered" and second.error == "не доставлено: Невозможно доставить"
    clock.advance(minutes=11)
    assert poll_deliveries(db, "", channels, clock) == 0  # final states are not asked again


def test_a_queued_message_to_an_address_that_opted_out_is_not_sent(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    enqueue(db, [sms("m1"), sms("m2", phone="+79161234568")], NOON)
    with db.session() as session:
        session.add(OutreachOptOut(member_id="", address="+79161234568", created_at=NOON, source="cli"))
    sender(db, Channels(gateways=[smsc(gateways)]), ManualClock(NOON)).run_until_idle()
    sent, refused = rows(db)
    assert sent.status == "sent"
    assert (refused.status, refused.error) == ("failed", "получатель отказался от сообщений")
    assert [m["phone"] for m in hook(gateways, "messages", method="GET")] == ["79161234567"]


def test_absences_and_substitutes(db) -> None:  # type: ignore[no-untyped-def]
    noon = dt.datetime(2026, 12, 1, 9, tzinfo=dt.timezone.utc)
    first = set_absence(db, member_id=PORTAL, user_id=7, date_from=DAY, date_to=DAY + dt.timedelta(days=9),
                        substitute_id=8, now=noon, note="отпуск")
    again = set_absence(db, member_id=PORTAL, user_id=7, date_from=DAY, date_to=DAY + dt.timedelta(days=9),
                        substitute_id=9, now=noon)
    assert again == first  # the same absence, its substitute changed
    assert substitute_on(db, PORTAL, 7, DAY) == 9
    assert substitute_on(db, PORTAL, 7, DAY - dt.timedelta(days=1)) is None  # not away yet
    assert substitute_on(db, "b" * 32, 7, DAY) is None                      # another portal
    set_absence(db, member_id=PORTAL, user_id=9, date_from=DAY, date_to=DAY, substitute_id=10, now=noon)
    assert substitute_on(db, PORTAL, 7, DAY) == 10                          # the substitute is away too
    set_absence(db, member_id=PORTAL, user_id=10, date_from=DAY, date_to=DAY, substitute_id=7, now=noon)
    assert substitute_on(db, PORTAL, 7, DAY) is None                        # a circle: nobody is there
    set_absence(db, member_id=PORTAL, user_id=11, date_from=DAY, date_to=DAY, substitute_id=None, now=noon,
                source="vacation:42")
    assert absence_on(db, PORTAL, 11, DAY) is not None and substitute_on(db, PORTAL, 11, DAY) is None
    remove_by_source(db, PORTAL, "vacation:42")
    assert absence_on(db, PORTAL, 11, DAY) is None
    assert [a.user_id for a in absences(db, member_id=PORTAL, since=DAY + dt.timedelta(days=1))] == [7]
    assert remove_absence(db, first) and not remove_absence(db, first)
    with pytest.raises(AbsenceError, match="раньше даты начала"):
        set_absence(db, member_id=PORTAL, user_id=7, date_from=DAY, date_to=DAY - dt.timedelta(days=1),
                    substitute_id=None, now=noon)
    with pytest.raises(AbsenceError, match="сам себя"):
        set_absence(db, member_id=PORTAL, user_id=7, date_from=DAY, date_to=DAY, substitute_id=7, now=noon)
