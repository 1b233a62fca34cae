"""The app as the portal's SMS provider, on the Bitrix24 emulator and the fake gateways over HTTP: the
portal's SMS (a CRM card, a workflow's SMS activity) reaches a gateway through the registered provider, and
the statuses go back to the portal; a call forged with a leaked application_token sends nothing."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from b24app import inbox
from b24app.db import get_db
from b24app.portal import client_for
from bizproc_templates.demo import wait_for
from emulators.sms import RunningGateways
from outreach.jobs import send_job
from outreach.models import OutreachMessage
from tests.emulators.bitrix24.bp_fixtures import bpt_data
from tests.outreach.conftest import ManualClock, hook
from tests.support import EmulatedInstall

NOON = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # 12:00 in Moscow: outside the quiet hours
CODE = "b24app_sms"
PHONE = "+79161234567"


@pytest.fixture
def setup(tmp_path: Path, database_url: str, gateways: RunningGateways) -> Iterator[EmulatedInstall]:
    outreach = {"company": "ООО «Альфа»", "portal_url": "https://alfa.bitrix24.ru",
                "sms_gateways": [{"name": "smsc", "kind": "smsc", "url": gateways.url + "/smsc",
                                  "login_env": "SMSC_LOGIN", "password_env": "SMSC_PASSWORD", "sender": "B24APP"}],
                "templates": {"portal_sms": {"sms": "{{ company }}: {{ text }}"}}}
    installed = EmulatedInstall(tmp_path, database_url, extra={"outreach": outreach},
                                env={"SMSC_LOGIN": "test", "SMSC_PASSWORD": "secret"})
    installed.app.extensions["outreach.clock"] = ManualClock(NOON)
    installed.install()
    installed.drain()
    yield installed
    installed.stop()


def _portal_messages(setup: EmulatedInstall) -> list[dict[str, Any]]:
    return setup.hook("sms", method="GET")


def _statuses(setup: EmulatedInstall, message_id: str) -> list[str]:
    [message] = [m for m in _portal_messages(setup) if m["message_id"] == message_id]
    return [entry["status"] for entry in message["statuses"]]


def _sent_through_gateway(gateways: RunningGateways) -> list[dict[str, Any]]:
    return hook(gateways, "messages", method="GET")


def _drain_until(setup: EmulatedInstall, probe, what: str):  # type: ignore[no-untyped-def]
    def step():  # type: ignore[no-untyped-def]
        setup.drain()
        return probe()
    return wait_for(step, what, timeout_s=30)


def test_the_provider_is_registered_at_install_and_again_after_an_update(setup: EmulatedInstall) -> None:
    admin = client_for(setup.app)
    assert admin.call("messageservice.sender.list", {}).result == [CODE]
    [sender] = [s for s in setup.hook("state", method="GET")["features"]["messageservice"]["senders"].values()]
    assert sender["handler"] == f"{setup.public_url}/b24/messages" and sender["name"] == "SMS через b24app"
    admin.call("messageservice.sender.delete", {"CODE": CODE})  # e.g. removed by hand in the portal
    setup.hook(f"apps/{setup.client_id}/update", {"version": 2})
    setup.drain()
    assert client_for(setup.app).call("messageservice.sender.list", {}).result == [CODE]
    setup.hook(f"apps/{setup.client_id}/update", {"version": 3})  # registered already: updated, not doubled
    setup.drain()
    assert client_for(setup.app).call("messageservice.sender.list", {}).result == [CODE]


def test_a_workflow_sms_goes_through_the_gateway_and_its_statuses_back(setup: EmulatedInstall,
                                                                        gateways: RunningGateways) -> None:
    admin = client_for(setup.app)
    iblock_id = admin.call("lists.add", {"IBLOCK_TYPE_ID": "bitrix_processes", "IBLOCK_CODE": "sms_test",
                                         "FIELDS": {"NAME": "Проверка SMS", "BIZPROC": "Y"}}).result
    tree = [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Properties": {"Title": "SMS"}, "Children": [
        {"Type": "SmsActivity", "Name": "A_sms", "Properties": {
            "ProviderId": CODE, "PhoneNumber": "8 (916) 123-45-67",
            "MessageText": "Заявка {=Document:NAME} принята"}}]}]
    admin.call("bizproc.workflow.template.add", {
        "DOCUMENT_TYPE": ["lists", "BizprocDocument", f"iblock_{iblock_id}"], "NAME": "SMS", "AUTO_EXECUTE": "1",
        "TEMPLATE_DATA": bpt_data(tree)})
    admin.call("lists.element.add", {"IBLOCK_TYPE_ID": "bitrix_processes", "IBLOCK_ID": iblock_id,
                                     "ELEMENT_CODE": "e1", "FIELDS": {"NAME": "Отпуск"}})

    [sent] = _drain_until(setup, lambda: _sent_through_gateway(gateways), "the SMS at the gateway")
    assert sent["phone"] == "79161234567" and sent["text"] == "ООО «Альфа»: Заявка Отпуск принята"
    [message] = _portal_messages(setup)
    assert message["module_id"] == "bizproc"
    assert _statuses(setup, message["message_id"]) == ["queued", "sent"]
    with get_db(setup.app).read_session() as session:
        [row] = session.scalars(select(OutreachMessage))
    assert (row.kind, row.status, row.gateway, row.address) == ("portal_sms", "sent", "smsc", PHONE)
    assert (row.portal_message_id, row.member_id) == (message["message_id"], setup.member_id)

    hook(gateways, "deliver", {"status": "delivered"})
    setup.app.extensions["outreach.clock"].advance(minutes=11)
    send_job(setup.app)
    assert _statuses(setup, message["message_id"]) == ["queued", "sent", "delivered"]
    send_job(setup.app)  # nothing new to tell
    assert _statuses(setup, message["message_id"]) == ["queued", "sent", "delivered"]


def test_a_crm_sms_is_sent_once_however_often_the_portal_posts_it(setup: EmulatedInstall,
                                                                   gateways: RunningGateways) -> None:
    answer = setup.hook("sms/send", {"sender": CODE, "to": PHONE, "text": "Ваш отпуск согласован", "user_id": 1})
    _drain_until(setup, lambda: _sent_through_gateway(gateways), "the SMS at the gateway")
    resent = {"type": "SMS", "code": CODE, "message_id": answer["message_id"], "message_to": PHONE,
              "message_body": "Ваш отпуск согласован", "auth[member_id]": setup.member_id,
              "auth[application_token]": setup.application_token()}
    response = requests.post(f"{setup.public_url}/b24/messages", data=resent, timeout=10)
    assert response.status_code == 200 and response.json()["result"] == "duplicate"
    setup.drain()
    assert len(_sent_through_gateway(gateways)) == 1
    assert _statuses(setup, answer["message_id"]) == ["queued", "sent"]


def test_a_message_forged_with_a_leaked_token_spends_nothing(setup: EmulatedInstall,
                                                            gateways: RunningGateways) -> None:
    forged = {"type": "SMS", "code": CODE, "message_id": "0" * 32, "message_to": PHONE, "message_body": "Платное SMS",
              "auth[member_id]": setup.member_id, "auth[application_token]": setup.application_token()}
    assert requests.post(f"{setup.public_url}/b24/messages", data=forged, timeout=10).status_code == 200
    setup.drain()
    [item] = [i for i in inbox.list_items(get_db(setup.app)) if i.kind == "message"]
    assert item.status == "failed" and "не передавал нашему провайдеру" in (item.last_error or "")
    assert _sent_through_gateway(gateways) == []
    with get_db(setup.app).read_session() as session:
        assert session.scalars(select(OutreachMessage)).all() == []
    wrong = {**forged, "auth[application_token]": "x" * 32}
    assert requests.post(f"{setup.public_url}/b24/messages", data=wrong, timeout=10).status_code == 401
    assert requests.post(f"{setup.public_url}/b24/messages", data={**forged, "message_id": ""},
                         timeout=10).status_code == 400


def test_a_number_that_is_no_phone_is_recorded_failed_and_the_portal_told(setup: EmulatedInstall,
                                                                          gateways: RunningGateways) -> None:
    answer = setup.hook("sms/send", {"sender": CODE, "to": "12", "text": "Проверка", "user_id": 1})
    _drain_until(setup, lambda: "failed" in _statuses(setup, answer["message_id"]), "the failed status")
    assert _statuses(setup, answer["message_id"]) == ["queued", "failed"]
    assert _sent_through_gateway(gateways) == []
    with get_db(setup.app).read_session() as session:
        [row] = session.scalars(select(OutreachMessage))
    assert row.status == "failed" and "не является телефонным номером" in (row.error or "")
