"""SMS providers registered by apps: ``messageservice.*`` and the POST a portal sends to the provider's
HANDLER when a message goes out (b24restdocs api-reference/messageservice/messageservice-sender-add.md).

Messages leave through ``send`` (the ``/_emulator/sms/send`` hook plays a CRM card's «send SMS», the
workflow runtime's ``SmsActivity`` a workflow step); the app reports delivery with
``messageservice.message.status.update``, recorded per message (``GET /_emulator/sms``).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from .hooks import HookError
from .registry import Call, RestError, hook, method
from .state import PortalState, portal_state

CODE_PATTERN = re.compile(r"^[a-zA-Z0-9._-]+$")  # messageservice-sender-add.md: a-z, A-Z, 0-9, ., -, _
STATUSES = ("queued", "sent", "delivered", "undelivered", "failed")  # messageservice-message-status-update.md


@dataclass
class Sender:
    client_id: str
    code: str
    handler: str
    name: Any
    description: Any = ""


@dataclass
class Message:
    message_id: str
    client_id: str
    code: str
    to: str
    text: str
    module_id: str
    user_id: int | None
    statuses: list[dict[str, str]] = field(default_factory=list)


@dataclass
class MessageService:
    senders: dict[str, Sender] = field(default_factory=dict)  # "client_id|CODE" -> sender
    messages: dict[str, Message] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return {"senders": {key: asdict(sender) for key, sender in self.senders.items()},
                "messages": {key: asdict(message) for key, message in self.messages.items()}}

    def restore(self, data: dict[str, Any]) -> None:
        self.senders = {key: Sender(**value) for key, value in data.get("senders", {}).items()}
        self.messages = {key: Message(**value) for key, value in data.get("messages", {}).items()}


def service(portal: PortalState) -> MessageService:
    return portal.feature("messageservice", MessageService)


# -- REST ---------------------------------------------------------------------------------------------

def _app_admin(call: Call) -> str:
    """Every messageservice method: application context and an administrator (the docs' ACCESS_DENIED rows)."""
    if call.client_id is None:
        raise RestError("ACCESS_DENIED", "Application context required", 403)
    if not call.portal.is_admin(call.user_id):
        raise RestError("ACCESS_DENIED", "Access denied!", 403)
    return call.client_id


def _code(call: Call) -> str:
    code = str(call.param("CODE", "") or "").strip()
    if not code:
        raise RestError("ERROR_SENDER_VALIDATION_FAILURE", "Empty sender code!")
    if not CODE_PATTERN.match(code):
        raise RestError("ERROR_SENDER_VALIDATION_FAILURE", "Wrong sender code!")
    return code


@method("messageservice.sender.add", scope="messageservice", server_time_s=0.05)
def sender_add(call: Call) -> bool:
    client_id = _app_admin(call)
    if not call.params:
        raise RestError("ERROR_SENDER_VALIDATION_FAILURE", "Empty data!")
    code = _code(call)
    name = call.param("NAME")
    if name in (None, "", {}, []):
        raise RestError("ERROR_SENDER_VALIDATION_FAILURE", "Empty sender NAME!")
    kind = str(call.param("TYPE", "") or "")
    if not kind:
        raise RestError("ERROR_SENDER_VALIDATION_FAILURE", "Empty sender message TYPE!")
    if kind != "SMS":
        raise RestError("ERROR_SENDER_VALIDATION_FAILURE", "Unknown sender message TYPE!")
    handler = str(call.param("HANDLER", "") or "")
    if not handler.startswith(("http://", "https://")):
        raise RestError("ERROR_SENDER_VALIDATION_FAILURE", "Empty sender HANDLER!")  # [inferred] text for HANDLER
    senders = service(portal_state(call)).senders
    if f"{client_id}|{code}" in senders:
        raise RestError("ERROR_SENDER_ALREADY_INSTALLED", "Sender already installed!")
    senders[f"{client_id}|{code}"] = Sender(client_id, code, handler, name, call.param("DESCRIPTION") or "")
    return True


def _own_sender(call: Call) -> Sender:
    client_id = _app_admin(call)
    sender = service(portal_state(call)).senders.get(f"{client_id}|{_code(call)}")
    if sender is None:
        raise RestError("ERROR_SENDER_NOT_FOUND", "Sender not found!")
    return sender


@method("messageservice.sender.update", scope="messageservice", server_time_s=0.05)
def sender_update(call: Call) -> bool:
    sender = _own_sender(call)
    handler = call.param("HANDLER")
    if handler not in (None, ""):
        sender.handler = str(handler)
    for attribute, name in (("name", "NAME"), ("description", "DESCRIPTION")):
        if call.param(name) not in (None, ""):
            setattr(sender, attribute, call.param(name))
    return True


@method("messageservice.sender.delete", scope="messageservice", server_time_s=0.05)
def sender_delete(call: Call) -> bool:
    sender = _own_sender(call)
    del service(portal_state(call)).senders[f"{sender.client_id}|{sender.code}"]
    return True


@method("messageservice.sender.list", scope="messageservice", server_time_s=0.01)
def sender_list(call: Call) -> list[str]:
    """Codes of the calling app's providers only (messageservice-sender-list.md)."""
    client_id = _app_admin(call)
    return [sender.code for sender in service(portal_state(call)).senders.values() if sender.client_id == client_id]


@method("messageservice.message.status.update", scope="messageservice", server_time_s=0.02)
def message_status_update(call: Call) -> bool:
    """The provider app reports a delivery status; it is kept with the message, in order."""
    if call.client_id is None:
        raise RestError("ACCESS_DENIED", "Application context required", 403)
    code = _code(call)
    message = service(portal_state(call)).messages.get(str(call.param("MESSAGE_ID", "") or ""))
    if message is None or message.client_id != call.client_id or message.code != code:
        raise RestError("ERROR_MESSAGE_NOT_FOUND", "Message not found!")
    status = str(call.param("STATUS", "") or "").lower()
    if status not in STATUSES:
        raise RestError("ERROR_MESSAGE_STATUS_INCORRECT", "Message status incorrect!")
    if message.user_id != call.user_id and not call.portal.is_admin(call.user_id):
        raise RestError("ACCESS_DENIED", "Access denied!", 403)  # the message's sender or an administrator
    portal = portal_state(call)
    message.statuses.append({"status": status, "date": portal.iso(portal.clock.now())})
    return True


# -- sending ------------------------------------------------------------------------------------------

class SmsError(ValueError):
    """A message the portal would not send (unknown provider, empty number or text)."""


def send(portal: PortalState, code: str, to: str, text: str, user_id: int | None, *, client_id: str | None = None,
         context: dict[str, Any] | None = None) -> str:
    """POST the message to its provider's HANDLER as the portal does; returns the new message_id.

    ``context`` is ``{"module_id": "crm", "bindings": [...]}`` or ``{"module_id": "bizproc", "workflow_id",
    "document_id", "document_type"}`` (messageservice-sender-add.md, "What Comes to the Handler"). Call it
    under the portal lock.
    """
    senders = [sender for sender in service(portal).senders.values()
               if sender.code == code and (client_id is None or sender.client_id == client_id)]
    if len(senders) != 1:
        raise SmsError(f"no single provider {code!r}" + (f" of {client_id}" if client_id else ""))
    if not str(to).strip() or not str(text).strip():
        raise SmsError("a message needs a number and a text")
    sender = senders[0]
    app = portal.app(sender.client_id)
    if app is None or not app.installed:
        raise SmsError(f"the app of provider {code!r} is not installed")
    context = context or {"module_id": "crm", "bindings": []}
    message_id = secrets.token_hex(16)
    service(portal).messages[message_id] = Message(message_id, sender.client_id, code, str(to), str(text),
                                                   str(context["module_id"]), user_id)
    payload = {**context, "properties": {"phone_number": str(to), "message_text": str(text)}, "type": "SMS",
               "code": code, "message_id": message_id, "message_to": str(to), "message_body": str(text),
               "ts": str(int(portal.clock.now())), "auth": portal.events.auth_block(app, user_id, "")}
    portal.post_form(sender.handler, payload)
    return message_id


# -- test hooks ---------------------------------------------------------------------------------------

@hook("/_emulator/sms/send", ["POST"])
def send_hook(portal: Any, body: Any) -> dict[str, Any]:
    """``{"sender": CODE, "to", "text", "user_id", "client_id"?}``: the «send SMS» of a CRM card."""
    if not isinstance(body, dict):
        raise HookError("body must be a JSON object")
    user_id = body.get("user_id")
    with portal.lock:
        if user_id is not None and (not str(user_id).isdigit() or portal.user(int(user_id)) is None):
            raise HookError(f"unknown user {user_id!r}", 404)
        try:
            message_id = send(portal, str(body.get("sender", "")), str(body.get("to", "")), str(body.get("text", "")),
                              int(user_id) if user_id is not None else None, client_id=body.get("client_id"))
        except SmsError as error:
            raise HookError(str(error)) from error
    return {"message_id": message_id}


@hook("/_emulator/sms", ["GET"])
def messages_hook(portal: Any, body: Any) -> list[dict[str, Any]]:
    """Every message sent, with the statuses its provider reported."""
    with portal.lock:
        return [asdict(message) for message in service(portal).messages.values()]
