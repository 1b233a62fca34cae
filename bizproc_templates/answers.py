"""Worker-side handlers of our app activities: do the work, answer with bizproc.event.send, at most once.

Retries: a call that 1C cannot answer yet (``NotReady``) goes back to the inbox, which retries it with
its backoff (2, 4, 8… s) while the next attempt still fits in the activity's timeout (the callback's
``timeout_duration`` counted from when the call was received) and ``bizproc.retry_attempts`` allows;
then the activity gets ``error`` and a Russian LOG_MESSAGE.

At most once: before bizproc.event.send a marker for the event_token is committed in its own
transaction; a call whose marker exists is never answered again, also after a restart. A crash
between the marker and the send leaves the activity unanswered: the template's TimeoutDuration
(``app_activities.yaml`` ``timeout``) then closes it with IsTimeout = 1. We prefer that to a second
send, which could deliver a different answer than the first.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from b24app import inbox
from b24app.bitrix.errors import B24Error
from b24app.db import Database, get_db
from b24app.dispatch import FatalHandlerError, Handler, HandlerContext, HandlerKey, activity
from b24app.install_steps import RestCaller
from b24app.models import utcnow
from b24app.portal import client_for
from bizproc_templates.activities import WORK, ActivityCall, Answer, NotReady, Work, failure_text, perform
from bizproc_templates.catalog import load_app_activities
from bizproc_templates.models import ActivityAnswer
from bizproc_templates.settings import BizprocSettings, bizproc_settings

log = logging.getLogger(__name__)


def token_digest(event_token: str) -> str:
    return hashlib.sha256(event_token.encode()).hexdigest()


def already_answered(db: Database, member_id: str, digest: str) -> bool:
    with db.read_session() as session:
        return session.scalar(select(ActivityAnswer.id).where(
            ActivityAnswer.member_id == member_id, ActivityAnswer.token_digest == digest)) is not None


def claim_answer(db: Database, ctx: HandlerContext, digest: str, answer: Answer) -> bool:
    """Commit the marker; False when another run already holds it."""
    payload = ctx.message.payload
    try:
        with db.session() as session:
            session.add(ActivityAnswer(member_id=ctx.message.member_id, token_digest=digest, code=ctx.message.name,
                                       workflow_id=str(payload.get("workflow_id", ""))[:64], status="sending",
                                       outcome="ok" if answer.ok else "error"))
    except IntegrityError:
        return False
    return True


def retry_allowed(ctx: HandlerContext, attempts_limit: int) -> bool:
    """Another inbox attempt fits in the attempt limit and before the activity's timeout."""
    message = ctx.message
    if message.attempts >= min(attempts_limit, inbox.MAX_ATTEMPTS):
        return False
    next_attempt = utcnow() + timedelta(seconds=min(2 ** message.attempts, inbox.MAX_BACKOFF_S))
    return next_attempt < message.received_at + timedelta(seconds=timeout_s(ctx))


def timeout_s(ctx: HandlerContext) -> float:
    raw = str(ctx.message.payload.get("timeout_duration") or "")
    return float(raw) if raw.isdigit() and int(raw) > 0 else float(load_app_activities()[ctx.message.name].timeout)


def answer_activity(ctx: HandlerContext, session: Session, work: Work) -> None:
    """Work, then mark and send; external calls all happen before `session` is used."""
    message, db = ctx.message, get_db(ctx.app)
    event_token = str(message.payload.get("event_token") or "")
    if not event_token:
        raise FatalHandlerError("в вызове действия нет event_token")
    digest = token_digest(event_token)
    if already_answered(db, message.member_id, digest):
        log.info("activity %s of workflow %s already answered", message.name, message.payload.get("workflow_id"))
        return
    settings = bizproc_settings(ctx.app)
    client = client_for(ctx.app, message.member_id)
    answer = _work_or_give_up(ctx, client, work, settings)
    if not claim_answer(db, ctx, digest, answer):
        return
    status, note = _send(client, event_token, answer)
    session.execute(update(ActivityAnswer).where(
        ActivityAnswer.member_id == message.member_id, ActivityAnswer.token_digest == digest).values(
        status=status, note=note, sent_at=utcnow()))


def _work_or_give_up(ctx: HandlerContext, client: RestCaller, work: Work, settings: BizprocSettings) -> Answer:
    payload = ctx.message.payload
    call = ActivityCall(ctx.app, client, ctx.message.member_id, _properties(payload),
                        _triplet(payload.get("document_id")), _triplet(payload.get("document_type")), settings)
    try:
        return perform(work, call)
    except NotReady as error:
        if retry_allowed(ctx, settings.retry_attempts):
            raise
        log.warning("activity %s: giving up after %d attempts", ctx.message.name, ctx.message.attempts)
        return Answer.error(failure_text(error) + f" (попыток: {ctx.message.attempts})")


def _send(client: RestCaller, event_token: str, answer: Answer) -> tuple[str, str | None]:
    try:
        client.call("bizproc.event.send", {"EVENT_TOKEN": event_token, "RETURN_VALUES": answer.values,
                                           "LOG_MESSAGE": answer.log_message})
    except B24Error as error:  # at most once: not resent; the activity's timeout closes it
        log.warning("bizproc.event.send failed: %s", type(error).__name__)
        return "send_failed", type(error).__name__
    return "sent", None


def _properties(payload: dict) -> dict:
    properties = payload.get("properties")
    return properties if isinstance(properties, dict) else {}


def _triplet(value: object) -> list[str]:
    if isinstance(value, dict):
        value = [value.get(str(i)) for i in range(3)]
    return [str(item) for item in value] if isinstance(value, list) else []


def _handler(work: Work) -> Handler:
    return lambda ctx, session: answer_activity(ctx, session, work)


HANDLERS: dict[HandlerKey, Handler] = {activity(code): _handler(work) for code, work in WORK.items()}
