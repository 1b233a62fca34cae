"""The app as the portal's SMS provider: Bitrix24's own SMS (CRM, the workflow SMS activity) goes out through
our gateways, rules and outbox, and the delivery status goes back to the portal.

Bitrix24 REST docs, ``api-reference/messageservice/``:
- ``messageservice.sender.add`` registers the provider (CODE, TYPE SMS, HANDLER, NAME); the install step below
  registers it once and keeps its HANDLER and NAME current after every ONAPPUPDATE (``sender.update``);
- the portal POSTs each message to the HANDLER (``type``, ``code``, ``message_id``, ``message_to``,
  ``message_body``, ``auth``); the core verifies it (``b24app.verify``: the stored application_token) and
  keeps it in the inbox (``/b24/messages``); the worker hands it to :func:`take_portal_sms`;
- ``messageservice.message.status.update`` reports queued / sent / delivered / undelivered / failed.

A second proof before any money is spent. The portal shows the application_token to browsers in some frame
POSTs, so a portal user could forge a call to the HANDLER with it. There is no REST method to read a message,
but ``messageservice.message.status.update`` answers ``ERROR_MESSAGE_NOT_FOUND`` for a MESSAGE_ID the portal
did not hand to *this app's* provider CODE (messageservice-message-status-update.md, "Possible Error Codes").
So before a message is queued the worker reports it ``queued`` — a status the docs list for exactly this
moment — with the stored token: a forged message_id is refused and nothing is sent. A message_id is kept
with its message (one outbox row per portal message id), so even a replayed genuine call sends nothing
twice. The number and text cannot be checked the same way; a forger would need a message_id the portal has
just issued to our provider, and those travel only from the portal to our HANDLER, never to a browser.
"""
from __future__ import annotations

import logging
from collections.abc import Collection

from flask import Flask
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from b24app.bitrix.errors import B24APIError, B24Error
from b24app.db import Database, get_db
from b24app.dispatch import FatalHandlerError, HandlerContext, message
from b24app.install_steps import InstallContext, RestCaller, Undo
from b24app.portal import client_for, portal_key
from outreach.models import FAILED, PENDING, OutreachMessage
from outreach.outbox import Draft, enqueue
from outreach.phones import try_e164
from outreach.service import clock_of, sender_of, settings_of
from outreach.settings import OutreachSettings

log = logging.getLogger(__name__)

KIND = "portal_sms"
HANDLER_PATH = "/b24/messages"
QUEUED = "queued"
# outbox states the portal hears of, under the same names (messageservice-message-status-update.md, STATUS)
PORTAL_STATUSES = ("sent", "delivered", "undelivered", FAILED)
FINAL_ANSWERS = ("ERROR_MESSAGE_NOT_FOUND", "ERROR_MESSAGE_STATUS_INCORRECT")  # repeating changes nothing
MAX_ID_LENGTH = 64


# --- the install step ------------------------------------------------------------------------------------

def register_provider(ctx: InstallContext) -> list[Undo]:
    """messageservice.sender.add the provider once (when SMS gateways are configured); after that keep its
    HANDLER and NAME current with messageservice.sender.update."""
    settings: OutreachSettings = ctx.config.settings("outreach")
    if not settings.gateways:
        return []
    code = settings.provider.code
    fields = {"HANDLER": ctx.config.public_url + HANDLER_PATH, "NAME": settings.provider.name}
    if code not in (ctx.client.call("messageservice.sender.list", {}).result or []):
        try:
            ctx.client.call("messageservice.sender.add", {"CODE": code, "TYPE": "SMS", **fields,
                                                          "DESCRIPTION": "SMS сотрудникам через шлюзы b24app"})
            return [lambda: ctx.client.call("messageservice.sender.delete", {"CODE": code})]
        except B24APIError as exc:
            if exc.code.upper() != "ERROR_SENDER_ALREADY_INSTALLED":  # another process added it meanwhile
                raise
    ctx.client.call("messageservice.sender.update", {"CODE": code, **fields})
    return []


# --- a message from the portal ---------------------------------------------------------------------------

def take_portal_sms(ctx: HandlerContext, session: Session) -> None:
    """Queue the message the portal asked for (once it proves to be the portal's) and send it now."""
    app, member_id, payload = ctx.app, ctx.message.member_id, ctx.message.payload
    settings = settings_of(app)
    code, message_id = str(payload.get("code", "")), str(payload.get("message_id", ""))
    if code != settings.provider.code:
        raise FatalHandlerError(f"провайдер {code!r} не наш (outreach.provider.code: {settings.provider.code})")
    if len(message_id) > MAX_ID_LENGTH:
        raise FatalHandlerError("слишком длинный message_id")
    db = get_db(app)
    row_id = _known(db, member_id, message_key(member_id, code, message_id))
    if row_id is None:
        with client_for(app, member_id) as client:
            _confirm_with_portal(client, code, message_id)
        [row_id] = enqueue(db, [portal_draft(member_id, payload, settings)], clock_of(app).now())
    sender_of(app).run_once(only=[row_id])
    report_to_portal(app, only=[row_id])


def message_key(member_id: str, code: str, message_id: str) -> str:
    return f"portal:{member_id}:{code}:{message_id}"


def _known(db: Database, member_id: str, key: str) -> int | None:
    with db.read_session() as session:
        return session.scalar(select(OutreachMessage.id).where(OutreachMessage.member_id == member_id,
                                                               OutreachMessage.key == key))


def _confirm_with_portal(client: RestCaller, code: str, message_id: str) -> None:
    """Report the message ``queued``: the portal refuses a message_id it did not give our provider."""
    try:
        client.call("messageservice.message.status.update", {"CODE": code, "MESSAGE_ID": message_id,
                                                             "STATUS": QUEUED})
    except B24APIError as exc:
        if exc.code.upper() == "ERROR_MESSAGE_NOT_FOUND":
            raise FatalHandlerError("портал не передавал нашему провайдеру сообщения с таким message_id: "
                                    "SMS не отправлено") from None
        raise


def portal_draft(member_id: str, payload: dict, settings: OutreachSettings) -> Draft:
    """The outbox row of a portal message; a number that is not a phone is recorded as failed."""
    code, message_id = str(payload["code"]), str(payload["message_id"])
    phone = try_e164(str(payload.get("message_to") or _property(payload, "phone_number")))
    text = str(payload.get("message_body") or _property(payload, "message_text"))
    values = {"text": text, "company": settings.company, "portal_url": settings.portal_url, "name": "",
              "full_name": "", "login": "", "reason": ""}
    body = settings.templates.render(KIND, "sms", values).text
    refused = None if phone else "номер получателя не является телефонным номером"
    if not body:
        refused = "пустой текст сообщения"
    return Draft(key=message_key(member_id, code, message_id), kind=KIND, channel="sms", address=phone or "",
                 body=body, portal_code=code, portal_message_id=message_id, member_id=member_id,
                 status=FAILED if refused else PENDING, error=refused)


def _property(payload: dict, name: str) -> str:
    properties = payload.get("properties")
    return str(properties.get(name) or "") if isinstance(properties, dict) else ""


# --- statuses back to the portal -------------------------------------------------------------------------

def report_to_portal(app: Flask, only: Collection[int] | None = None) -> int:
    """messageservice.message.status.update for every message of the portal in scope whose status the
    portal does not know yet; returns how many were reported. A refused report is retried at the next run."""
    rows = _unreported(get_db(app), portal_key(app), only)
    if not rows:
        return 0
    with client_for(app, rows[0].member_id) as client:
        return sum(_report(get_db(app), client, row) for row in rows)


def _unreported(db: Database, portal: str, only: Collection[int] | None) -> list[OutreachMessage]:
    """The portal's messages from its SMS provider whose last status the portal has not heard."""
    with db.read_session() as session:
        query = select(OutreachMessage).where(
            OutreachMessage.portal_message_id.is_not(None), OutreachMessage.member_id == portal,
            OutreachMessage.status.in_(list(PORTAL_STATUSES)),
            or_(OutreachMessage.portal_status.is_(None), OutreachMessage.portal_status != OutreachMessage.status))
        if only is not None:
            query = query.where(OutreachMessage.id.in_(list(only)))
        return list(session.scalars(query.order_by(OutreachMessage.id).limit(500)))


def _report(db: Database, client: RestCaller, row: OutreachMessage) -> bool:
    try:
        client.call("messageservice.message.status.update", {"CODE": row.portal_code,
                                                             "MESSAGE_ID": row.portal_message_id, "STATUS": row.status})
    except B24APIError as exc:
        if exc.code.upper() not in FINAL_ANSWERS:
            log.warning("outreach: status of message %s not reported: %s", row.id, exc.code)
            return False
        log.warning("outreach: the portal refused the status of message %s: %s", row.id, exc.code)
    except B24Error as exc:
        log.warning("outreach: status of message %s not reported: %s", row.id, type(exc).__name__)
        return False
    _note_reported(db, row.id, row.status)
    return True


def _note_reported(db: Database, row_id: int, status: str) -> None:
    with db.write_lock, db.session() as session:
        row = session.get(OutreachMessage, row_id)
        if row is not None:
            row.portal_status = status


HANDLERS = {message("sms"): take_portal_sms}
