"""Portals' outreach in one database: the same cause is a message of each, a sender sends only its
portal's rows, and opt-outs, bounces, history and daily caps of one portal do not bind the other."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from b24app.db import get_db
from b24app.portal import get_store
from emulators.sms import RunningGateways
from outreach.jobs import send_job
from outreach.campaign import bounced_addresses, load_history, opted_out_addresses
from outreach.models import OutreachBounce, OutreachMessage, OutreachOptOut
from outreach.outbox import OPTED_OUT, Channels, Draft, Sender, enqueue
from tests.outreach.conftest import ManualClock
from service import create_app
from tests.outreach.test_outbox import NOON, SETTINGS, sms, smsc
from tests.support import installed_stub, write_config

A, B, C = "a" * 32, "b" * 32, "c" * 32
PHONE = "+79161234567"


def _sender(db, portal: str, channels: Channels, clock: ManualClock) -> Sender:  # type: ignore[no-untyped-def]
    return Sender(db, SETTINGS, channels, clock, portal=portal, sleep=lambda _s: None, lease_s=30)


def _rows(db, portal: str) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    with db.read_session() as session:
        return [(row.key, row.status, row.error) for row in session.scalars(
            select(OutreachMessage).where(OutreachMessage.member_id == portal).order_by(OutreachMessage.id))]


def _drafts(portal: str) -> list[Draft]:
    return [sms("invitation:p1:1", member_id=portal), sms("invitation:p2:1", member_id=portal, phone="+79161234568")]


def test_two_portals_messages_opt_outs_and_caps_stay_apart(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    a_ids, b_ids = enqueue(db, _drafts(A), NOON), enqueue(db, _drafts(B), NOON)
    assert len(set(a_ids) | set(b_ids)) == 4  # one cause, one message of each portal
    assert enqueue(db, [sms("invitation:p1:1", member_id=B)], NOON) == b_ids[:1]
    with db.session() as session:  # the person told portal a's company to stop; b's company was never told
        session.add(OutreachOptOut(member_id=A, address=PHONE, created_at=NOON, source="cli"))
        session.add(OutreachBounce(member_id=A, address="gone@example.ru", reason="550", created_at=NOON))
    clock = ManualClock(NOON)
    channels = Channels(gateways=[smsc(gateways)], caps={"smsc": 1})

    _sender(db, A, channels, clock).run_until_idle()
    assert _rows(db, A) == [("invitation:p1:1", "failed", OPTED_OUT), ("invitation:p2:1", "sent", None)]
    assert [status for _, status, _ in _rows(db, B)] == ["pending", "pending"]  # a's sender leaves b's rows

    _sender(db, B, channels, clock).run_until_idle()  # b's own cap of 1 a day: a's send does not count
    assert [status for _, status, _ in _rows(db, B)] == ["sent", "pending"]
    assert opted_out_addresses(db, A) == {PHONE} and opted_out_addresses(db, B) == set()
    assert bounced_addresses(db, A) == {"gone@example.ru"} and bounced_addresses(db, B) == set()
    assert set(load_history(db, A)) == {"invitation:p2:1"}  # its opted-out message never went out
    history = load_history(db, B)["invitation:p1:1"]
    assert (history.of_kind, history.opted_out) == (1, False)  # a's messages and opt-outs are not b's history


def test_the_send_job_without_a_portal_in_scope_serves_each_installed_portal_in_turn(
        tmp_path: Path, database_url: str, gateways: RunningGateways) -> None:
    """One top-level ``outreach:`` and no ``portals:``: each portal's rows go out under its own opt-outs;
    a paused portal's wait."""
    outreach = {"company": "ООО «Альфа»", "portal_url": "https://alfa.bitrix24.ru",
                "sms_gateways": [{"name": "smsc", "kind": "smsc", "url": gateways.url + "/smsc",
                                  "login_env": "SMSC_LOGIN", "password_env": "SMSC_PASSWORD", "sender": "B24APP"}]}
    config = write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url,
                          extra={"outreach": outreach}, env={"SMSC_LOGIN": "test", "SMSC_PASSWORD": "secret"})[0]
    app = create_app(config)
    app.extensions["outreach.clock"] = ManualClock(NOON)
    for member_id in (A, B, C):
        installed_stub(app, member_id)
    db = get_db(app)
    for portal in (A, B, C):
        enqueue(db, _drafts(portal), NOON)
    with db.session() as session:
        session.add(OutreachOptOut(member_id=A, address=PHONE, created_at=NOON, source="cli"))
    get_store(app).set_paused(member_id=C, paused=True)
    with app.app_context():
        send_job(app)
    assert [status for _, status, _ in _rows(db, A)] == ["failed", "sent"]
    assert [status for _, status, _ in _rows(db, B)] == ["sent", "sent"]
    assert [status for _, status, _ in _rows(db, C)] == ["pending", "pending"]
    db.dispose()
