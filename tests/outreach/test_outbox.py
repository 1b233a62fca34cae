"""The outbox against the fake gateways and a real SMTP server, with an injected clock."""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest
from sqlalchemy import select

from emulators.sms import RunningGateways
from outreach.gateways import SmscGateway, SmsRuGateway, WebhookGateway
from outreach.mail import SmtpChannel, SmtpSettings
from outreach.models import OutreachBounce, OutreachMessage
from outreach.outbox import Channels, Draft, Sender, enqueue
from outreach.settings import OutreachSettings, RetrySettings, Rules
from tests.outreach.conftest import ManualClock, SmtpServer, hook

NOON = datetime(2026, 12, 31, 9, 0, tzinfo=timezone.utc)  # 12:00 in Moscow, the last day of the year
SETTINGS = OutreachSettings(rules=Rules(quiet_start=time(21), quiet_end=time(9)),
                            retry=RetrySettings(attempts=2, rounds=2, backoff_s=60, max_backoff_s=600))


def sms(key: str = "m1", phone: str = "+79161234567", **extra) -> Draft:  # type: ignore[no-untyped-def]
    return Draft(key=key, kind="invitation", channel="sms", address=phone, body="Вход: https://portal.example",
                 person_ref=key, **extra)


def smsc(gateways: RunningGateways, name: str = "smsc") -> SmscGateway:
    return SmscGateway(name, gateways.url + "/smsc", "test", "secret", "B24APP", timeout_s=1.0)


def sender(db, channels: Channels, clock: ManualClock, settings: OutreachSettings = SETTINGS) -> Sender:  # type: ignore[no-untyped-def]
    return Sender(db, settings, channels, clock, portal="", sleep=lambda _s: None, lease_s=30)


def rows(db) -> list[OutreachMessage]:  # type: ignore[no-untyped-def]
    with db.read_session() as session:
        return list(session.scalars(select(OutreachMessage).order_by(OutreachMessage.id)))


def test_enqueue_is_idempotent_by_key(db) -> None:  # type: ignore[no-untyped-def]
    first = enqueue(db, [sms("a"), sms("b")], NOON)
    assert enqueue(db, [sms("a"), sms("c")], NOON)[0] == first[0]
    assert [r.key for r in rows(db)] == ["a", "b", "c"]


def test_sent_message_is_recorded_with_provider_id_and_cost(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    enqueue(db, [sms()], NOON)
    sender(db, Channels(gateways=[smsc(gateways)]), ManualClock(NOON)).run_until_idle()
    [row] = rows(db)
    assert (row.status, row.gateway, row.provider_id, str(row.cost), row.sent_at) == ("sent", "smsc", str(row.id),
                                                                                      "2.5000", NOON)
    [message] = hook(gateways, "messages", method="GET")
    assert (message["our_id"], message["phone"]) == (str(row.id), "79161234567")


def test_failing_gateway_is_retried_with_backoff_then_failed_and_the_other_channel_tried(
        db, gateways: RunningGateways, smtp_server: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    hook(gateways, "faults", {"provider": "smsc", "kind": "http500", "count": 100})
    enqueue(db, [sms(fallback_address="ivanov@example.ru", fallback_subject="Вход", fallback_body="Письмо")], NOON)
    clock = ManualClock(NOON)
    mail = SmtpChannel(SmtpSettings("127.0.0.1", smtp_server.port, "tls" if smtp_server.controller.ssl_context
                                    else "starttls", "hr@example.ru", user="hr@example.ru",
                                    password="mail-secret", ca_file=smtp_server.ca_file))
    the_sender = sender(db, Channels(email=mail, gateways=[smsc(gateways)]), clock)
    the_sender.run_until_idle()
    [row] = rows(db)
    assert (row.status, row.attempts, row.not_before) == ("pending", 1, datetime(2026, 12, 31, 9, 1, tzinfo=timezone.utc))
    assert "ошибка HTTP 500" in (row.error or "")
    clock.advance(minutes=1)
    the_sender.run_until_idle()
    failed, stand_in = rows(db)
    assert failed.status == "failed" and failed.error.startswith("не отправлено после 2 попыток")
    assert (stand_in.channel, stand_in.status, stand_in.replaces_id) == ("email", "sent", failed.id)
    assert len(smtp_server.mailbox.letters) == 1
    assert hook(gateways, "messages", method="GET") == []


def test_unusable_gateway_hands_over_to_the_next(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    hook(gateways, "config", {"approved_senders": []})  # SMS.ru 204: sender name not approved
    smsru = SmsRuGateway("smsru", gateways.url + "/smsru", "test-api-id", "B24APP", timeout_s=1.0)
    hook_gateway = WebhookGateway("hook", gateways.url + "/webhook", "hook-token", timeout_s=1.0)
    enqueue(db, [sms("a"), sms("b")], NOON)
    the_sender = sender(db, Channels(gateways=[smsru, hook_gateway]), ManualClock(NOON))
    the_sender.run_until_idle()
    assert [(r.status, r.gateway) for r in rows(db)] == [("sent", "hook"), ("sent", "hook")]
    assert "имя отправителя не согласовано" in the_sender.unusable["smsru"]


def test_timeout_after_acceptance_is_resolved_by_our_id_without_a_duplicate(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    hook(gateways, "faults", {"provider": "smsc", "kind": "timeout", "delay_s": 1.5})
    enqueue(db, [sms()], NOON)
    clock = ManualClock(NOON)
    the_sender = sender(db, Channels(gateways=[smsc(gateways)]), clock)
    the_sender.run_until_idle()
    assert rows(db)[0].status == "sending"
    clock.advance(seconds=30)
    the_sender.run_until_idle()
    [row] = rows(db)
    assert row.status == "sent"
    assert len(hook(gateways, "messages", method="GET")) == 1


def test_sender_killed_after_claiming_resends_once_what_the_gateway_never_got(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    enqueue(db, [sms("a"), sms("b")], NOON)
    clock = ManualClock(NOON)
    channels = Channels(gateways=[smsc(gateways)])
    assert len(sender(db, channels, clock)._claim()) == 2  # claimed, then "killed" before any send
    restarted = sender(db, channels, clock)
    restarted.run_until_idle()
    assert {r.status for r in rows(db)} == {"sending"}  # the lease has not passed yet
    clock.advance(seconds=31)
    restarted.run_until_idle()
    assert {r.status for r in rows(db)} == {"sent"}
    assert sorted(m["our_id"] for m in hook(gateways, "messages", method="GET")) == sorted(str(r.id) for r in rows(db))


def test_unknown_outcome_on_a_gateway_that_cannot_be_asked_is_never_resent(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    hook(gateways, "faults", {"provider": "smsru", "kind": "timeout", "delay_s": 1.5})
    smsru = SmsRuGateway("smsru", gateways.url + "/smsru", "test-api-id", "B24APP", timeout_s=1.0)
    enqueue(db, [sms()], NOON)
    clock = ManualClock(NOON)
    the_sender = sender(db, Channels(gateways=[smsru]), clock)
    the_sender.run_until_idle()
    clock.advance(minutes=5)
    the_sender.run_until_idle()
    [row] = rows(db)
    assert row.status == "unknown" and "автоматически не отправляется повторно" in row.error
    assert len(hook(gateways, "messages", method="GET")) == 1


def test_quiet_hours_hold_the_message_until_morning_in_the_persons_zone(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    enqueue(db, [sms("vlad", time_zone="Asia/Vladivostok"), sms("msk", time_zone="Europe/Moscow")], NOON)
    evening = datetime(2026, 12, 31, 12, 0, tzinfo=timezone.utc)  # 22:00 in Vladivostok, 15:00 in Moscow
    sender(db, Channels(gateways=[smsc(gateways)]), ManualClock(evening)).run_until_idle()
    vlad, msk = rows(db)
    assert (vlad.status, vlad.not_before) == ("pending", datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc))
    assert msk.status == "sent"


def test_daily_cap_moves_the_rest_to_the_next_day(db, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    enqueue(db, [sms(f"p{i}") for i in range(3)], NOON)
    clock = ManualClock(NOON)
    channels = Channels(gateways=[smsc(gateways)], caps={"smsc": 2})
    sender(db, channels, clock).run_until_idle()
    assert [r.status for r in rows(db)] == ["sent", "sent", "pending"]
    assert rows(db)[2].not_before == datetime(2026, 12, 31, 21, 0, tzinfo=timezone.utc)  # midnight in Moscow
    clock.current = datetime(2027, 1, 1, 6, 0, tzinfo=timezone.utc)
    sender(db, channels, clock).run_until_idle()
    assert [r.status for r in rows(db)] == ["sent", "sent", "sent"]


def test_refused_recipient_is_a_bounce_and_the_sms_stands_in(db, gateways: RunningGateways,
                                                              smtp_server: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    smtp_server.mailbox.refuse.add("gone@example.ru")
    mail = SmtpChannel(SmtpSettings("127.0.0.1", smtp_server.port, "tls" if smtp_server.controller.ssl_context
                                    else "starttls", "hr@example.ru", user="hr@example.ru",
                                    password="mail-secret", ca_file=smtp_server.ca_file))
    enqueue(db, [Draft(key="e", kind="invitation", channel="email", address="gone@example.ru", subject="Вход",
                       body="Письмо", fallback_address="+79161234567", fallback_body="SMS")], NOON)
    sender(db, Channels(email=mail, gateways=[smsc(gateways)]), ManualClock(NOON)).run_until_idle()
    letter, stand_in = rows(db)
    assert (letter.status, stand_in.channel, stand_in.status, stand_in.body) == ("failed", "sms", "sent", "SMS")
    with db.read_session() as session:
        assert session.scalar(select(OutreachBounce.address)) == "gone@example.ru"


@pytest.fixture(params=["starttls"])
def smtp_server(request, tmp_path):  # type: ignore[no-untyped-def]
    server = SmtpServer(request.param, tmp_path)
    yield server
    server.stop()
