"""Each gateway against the fake provider answering with its documented bodies, over real HTTP."""
from __future__ import annotations

from decimal import Decimal

import pytest

from emulators.sms import RunningGateways
from outreach.errors import GatewayUnusable, MessageRejected, OutcomeUnknown, RetriableError
from outreach.gateways import SmscGateway, SmsRuGateway, Sms, WebhookGateway
from tests.outreach.conftest import hook
from tests.support import free_port

SMS = Sms(message_id=41, phone="+79161234567", text="Здравствуйте! Вход на портал: https://portal.example")


def smsru(gateways: RunningGateways, api_id: str = "test-api-id", sender: str | None = "B24APP") -> SmsRuGateway:
    return SmsRuGateway("smsru", gateways.url + "/smsru", api_id, sender, timeout_s=1.0)


def smsc(gateways: RunningGateways, password: str = "secret", sender: str | None = "B24APP") -> SmscGateway:
    return SmscGateway("smsc", gateways.url + "/smsc", "test", password, sender, timeout_s=1.0)


def webhook(gateways: RunningGateways, token: str = "hook-token") -> WebhookGateway:
    return WebhookGateway("hook", gateways.url + "/webhook", token, timeout_s=1.0)


def test_smsru_send_status_and_balance(gateways: RunningGateways) -> None:
    gateway = smsru(gateways)
    accepted = gateway.send(SMS)
    [message] = hook(gateways, "messages", method="GET")
    assert (message["phone"], message["text"], message["sender"]) == ("79161234567", SMS.text, "B24APP")
    assert accepted.provider_id == message["provider_id"]
    assert gateway.delivery(SMS, accepted.provider_id).state == "queued"
    hook(gateways, "deliver", {"status": "delivered"})
    delivery = gateway.delivery(SMS, accepted.provider_id)
    assert (delivery.state, delivery.cost) == ("delivered", Decimal("2.5"))
    assert gateway.balance() == Decimal("997.5")


@pytest.mark.parametrize(("setup", "make", "error", "code"), [
    ({}, lambda g: smsru(g, api_id="wrong"), GatewayUnusable, 200),
    ({"balance": "0"}, smsru, GatewayUnusable, 201),
    ({"approved_senders": []}, smsru, GatewayUnusable, 204),
    ({"stop_list": ["79161234567"]}, smsru, MessageRejected, 209),
])
def test_smsru_documented_errors(gateways: RunningGateways, setup: dict, make, error: type, code: int) -> None:  # type: ignore[no-untyped-def]
    hook(gateways, "config", setup)
    with pytest.raises(error) as info:
        make(gateways).send(SMS)
    assert info.value.code == code
    assert "4567" not in info.value.reason


def test_smsru_temporary_unavailability_is_retriable(gateways: RunningGateways) -> None:
    hook(gateways, "faults", {"provider": "smsru", "kind": "code", "code": 220})
    with pytest.raises(RetriableError):
        smsru(gateways).send(SMS)


def test_smsru_timeout_after_acceptance_is_an_unknown_outcome_that_cannot_be_looked_up(
        gateways: RunningGateways) -> None:
    hook(gateways, "faults", {"provider": "smsru", "kind": "timeout", "delay_s": 1.5})
    gateway = smsru(gateways)
    with pytest.raises(OutcomeUnknown):
        gateway.send(SMS)
    assert not gateway.can_find_by_our_id
    with pytest.raises(NotImplementedError):
        gateway.find(SMS)


def test_smsc_send_find_by_our_id_and_status(gateways: RunningGateways) -> None:
    gateway = smsc(gateways)
    assert gateway.find(SMS) is None
    accepted = gateway.send(SMS)
    assert (accepted.provider_id, accepted.cost) == ("41", Decimal("2.50"))
    [message] = hook(gateways, "messages", method="GET")
    assert (message["our_id"], message["phone"]) == ("41", "79161234567")
    assert gateway.find(SMS) == accepted
    hook(gateways, "deliver", {"status": "undelivered"})
    assert gateway.delivery(SMS, accepted.provider_id).state == "undelivered"
    assert gateway.balance() == Decimal("997.50")


@pytest.mark.parametrize(("setup", "make", "error", "code"), [
    ({}, lambda g: smsc(g, password="wrong"), GatewayUnusable, 2),
    ({"balance": "1"}, smsc, GatewayUnusable, 3),
    ({"approved_senders": []}, smsc, MessageRejected, 6),
    ({"stop_list": ["79161234567"]}, smsc, MessageRejected, 8),
])
def test_smsc_documented_errors(gateways: RunningGateways, setup: dict, make, error: type, code: int) -> None:  # type: ignore[no-untyped-def]
    hook(gateways, "config", setup)
    with pytest.raises(error) as info:
        make(gateways).send(SMS)
    assert info.value.code == code


def test_smsc_timeout_then_lookup_by_our_id_finds_the_accepted_message(gateways: RunningGateways) -> None:
    hook(gateways, "faults", {"provider": "smsc", "kind": "timeout", "delay_s": 1.5})
    gateway = smsc(gateways)
    with pytest.raises(OutcomeUnknown):
        gateway.send(SMS)
    assert gateway.find(SMS) is not None


def test_http_500_and_refused_connection_are_retriable(gateways: RunningGateways) -> None:
    hook(gateways, "faults", {"provider": "smsc", "kind": "http500"})
    with pytest.raises(RetriableError):
        smsc(gateways).send(SMS)
    closed = SmscGateway("smsc", f"http://127.0.0.1:{free_port()}/smsc", "test", "secret")
    with pytest.raises(RetriableError):
        closed.send(SMS)


def test_webhook_is_idempotent_by_our_id(gateways: RunningGateways) -> None:
    gateway = webhook(gateways)
    first = gateway.send(SMS)
    assert gateway.send(SMS) == first  # 409: already accepted under this id
    assert len(hook(gateways, "messages", method="GET")) == 1
    assert gateway.find(SMS) == first
    assert gateway.find(Sms(42, SMS.phone, SMS.text)) is None
    hook(gateways, "deliver", {"status": "delivered"})
    assert gateway.delivery(SMS, first.provider_id).state == "delivered"


def test_webhook_errors(gateways: RunningGateways) -> None:
    with pytest.raises(GatewayUnusable):
        webhook(gateways, token="wrong").send(SMS)
    hook(gateways, "faults", {"provider": "webhook", "kind": "code", "code": 422})
    with pytest.raises(MessageRejected):
        webhook(gateways).send(SMS)
    hook(gateways, "faults", {"provider": "webhook", "kind": "http500"})
    with pytest.raises(RetriableError):
        webhook(gateways).send(SMS)
