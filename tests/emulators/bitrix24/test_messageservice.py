"""SMS providers (messageservice.*), what the portal POSTs to them, and notifications (im.notify*)."""
from __future__ import annotations

import requests

from emulators.bitrix24 import RunningBitrix24
from tests.emulators.bitrix24.app_server import AppEndpoint, app_endpoint  # noqa: F401 - fixture
from tests.emulators.bitrix24.bp_fixtures import BpWorld, as_list, bp_world, bpt_data, unique, wait_for  # noqa: F401
from tests.emulators.bitrix24.conftest import call, hook

PROCESSES = "bitrix_processes"


def _provider_app(portal: RunningBitrix24, handler_base: str) -> tuple[dict, str]:
    app = hook(portal, "apps", {"handler_url": f"{handler_base}/app", "install_url": f"{handler_base}/app",
                                "scopes": ["messageservice", "im"]})
    hook(portal, f"apps/{app['client_id']}/install-finish", {"user_id": 1})
    return app, hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]


def _rest(portal: RunningBitrix24, token: str, method: str, **params: object) -> dict:
    return requests.post(f"{portal.url}/rest/{method}", json={"auth": token, **params}, timeout=10).json()


def _add_sender(portal: RunningBitrix24, token: str, handler: str, code: str = "zup_sms") -> dict:
    return _rest(portal, token, "messageservice.sender.add", CODE=code, TYPE="SMS", HANDLER=handler,
                 NAME="Кадровые SMS")


def test_sender_registration_rules(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app, token = _provider_app(portal, app_endpoint.url)
    assert _add_sender(portal, token, f"{app_endpoint.url}/sms")["result"] is True
    assert _add_sender(portal, token, f"{app_endpoint.url}/sms")["error"] == "ERROR_SENDER_ALREADY_INSTALLED"
    assert _add_sender(portal, token, f"{app_endpoint.url}/sms", code="bad code")["error_description"] == (
        "Wrong sender code!")
    assert _rest(portal, token, "messageservice.sender.add", CODE="x", TYPE="MMS", HANDLER="http://a.b/",
                 NAME="x")["error_description"] == "Unknown sender message TYPE!"
    assert _rest(portal, token, "messageservice.sender.list")["result"] == ["zup_sms"]
    other, other_token = _provider_app(portal, app_endpoint.url)
    assert _rest(portal, other_token, "messageservice.sender.list")["result"] == []  # per application
    by_webhook = call(portal, "messageservice.sender.list").json()
    assert by_webhook == {"error": "ACCESS_DENIED", "error_description": "Application context required"}
    assert _rest(portal, other_token, "messageservice.sender.delete", CODE="zup_sms")["error"] == (
        "ERROR_SENDER_NOT_FOUND")
    assert _rest(portal, token, "messageservice.sender.delete", CODE="zup_sms")["result"] is True


def test_sms_goes_to_the_provider_and_statuses_are_recorded(portal: RunningBitrix24,
                                                            app_endpoint: AppEndpoint) -> None:
    app, token = _provider_app(portal, app_endpoint.url)
    _add_sender(portal, token, f"{app_endpoint.url}/sms")
    sent = hook(portal, "sms/send", {"sender": "zup_sms", "to": "+79990001122", "text": "Ваш отпуск согласован",
                                     "user_id": 1})
    hook(portal, "events/flush")
    [posted] = [item for item in app_endpoint.received if item.path == "/sms"]
    form = posted.form
    assert (form["message_id"], form["message_to"], form["message_body"]) == (
        sent["message_id"], "+79990001122", "Ваш отпуск согласован")
    assert (form["type"], form["code"], form["module_id"]) == ("SMS", "zup_sms", "crm")
    assert form["properties[phone_number]"] == "+79990001122"
    assert form["auth[application_token]"] == app["application_token"]
    update = _rest(portal, token, "messageservice.message.status.update", CODE="zup_sms",
                   MESSAGE_ID=sent["message_id"], STATUS="delivered")
    assert update["result"] is True
    assert _rest(portal, token, "messageservice.message.status.update", CODE="zup_sms",
                 MESSAGE_ID=sent["message_id"], STATUS="read")["error"] == "ERROR_MESSAGE_STATUS_INCORRECT"
    _, stranger = _provider_app(portal, app_endpoint.url)
    assert _rest(portal, stranger, "messageservice.message.status.update", CODE="zup_sms",
                 MESSAGE_ID=sent["message_id"], STATUS="failed")["error"] == "ERROR_MESSAGE_NOT_FOUND"
    [message] = hook(portal, "sms", http_method="GET")
    assert [entry["status"] for entry in message["statuses"]] == ["delivered"]
    refused = requests.post(f"{portal.url}/_emulator/sms/send", json={"sender": "nobody", "to": "1", "text": "x"},
                            timeout=10)
    assert refused.status_code == 400


def test_workflow_sms_step_posts_the_bizproc_context(portal: RunningBitrix24, bp_world: BpWorld) -> None:
    _, token = _provider_app(portal, bp_world.handler.url)
    _add_sender(portal, token, f"{bp_world.handler.url}/sms")
    iblock_id = bp_world.new_list()
    tree = [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Properties": {"Title": "SMS"}, "Children": [
        {"Type": "SmsActivity", "Name": "A_sms", "Properties": {
            "ProviderId": "zup_sms", "PhoneNumber": "+79990001122", "MessageText": "Заявка {=Document:NAME} принята"}}]}]
    bp_world.admin.result("bizproc.workflow.template.add", DOCUMENT_TYPE=["lists", "BizprocDocument",
                                                                         f"iblock_{iblock_id}"],
                          NAME="SMS", AUTO_EXECUTE="1", TEMPLATE_DATA=bpt_data(tree))
    element_id = bp_world.admin.result("lists.element.add", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_ID=iblock_id,
                                       ELEMENT_CODE=unique("e"), FIELDS={"NAME": "Отпуск"})
    [posted] = wait_for(lambda: [c for c in bp_world.handler.calls if c.get("type") == "SMS"])
    assert posted["module_id"] == "bizproc" and posted["message_body"] == "Заявка Отпуск принята"
    assert as_list(posted["document_id"]) == ["lists", "BizprocDocument", str(element_id)]
    assert posted["workflow_id"] and posted["code"] == "zup_sms"


def test_im_notify_picks_the_kind_by_type(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    _, token = _provider_app(portal, app_endpoint.url)
    assert isinstance(_rest(portal, token, "im.notify", USER_ID=1, MESSAGE="  Напоминание  ")["result"], int)
    assert isinstance(_rest(portal, token, "im.notify", USER_ID=1, TYPE="SYSTEM", MESSAGE="Система")["result"], int)
    kinds = [(row["TYPE"], row["MESSAGE"]) for row in hook(portal, "notifications", http_method="GET")]
    assert kinds == [("personal", "Напоминание"), ("system", "Система")]
    assert _rest(portal, token, "im.notify", USER_ID=1, MESSAGE=" ")["error"] == "MESSAGE_EMPTY"
