"""Worker-side handlers of our app activities: do the work once, deliver its answer until the portal has it.

Retries: a call that 1C cannot answer yet (``NotReady``) goes back to the inbox, which retries it with
its backoff (2, 4, 8… s) while the next attempt still fits in the activity's timeout (the callback's
``timeout_duration`` counted from when the call was received) and ``bizproc.retry_attempts`` allows;
then the activity gets ``error`` and a Russian LOG_MESSAGE.

Exactly one answer, delivered at least once: the answer is committed with a marker for the
event_token (status ``sending``) before bizproc.event.send, in its own transaction. A run that finds
the marker never works again (no second 1C write) and sends the *stored* answer; a send that fails
on the way (timeout, 5xx, the portal's limits) raises, so the inbox retries it, and a worker killed
between the marker and the send leaves the item to be taken over when its lease runs out. Repeating
the send is safe: it carries the same answer, and the portal ignores an answer to an activity that
no longer waits (Bitrix24 REST docs: api-reference/bizproc/bizproc-robot/bizproc-event-send.md).
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from b24app import inbox
from b24app.bitrix.errors import B24APIError, B24AuthError, B24RefusedError, is_ambiguous
from b24app.db import Database, get_db
from b24app.dispatch import FatalHandlerError, Handler, HandlerContext, HandlerKey, activity
from b24app.install_steps import RestCaller
from b24app.metrics import ACTIVITY_ANSWER_SECONDS
from b24app.models import utcnow
from b24app.portal import client_for
from bizproc_templates.activities import WORK, ActivityCall, Answer, NotReady, Work, failure_text, perform
from bizproc_templates.catalog import load_app_activities
from bizproc_templates.models import ActivityAnswer
from bizproc_templates.settings import BizprocSettings, bizproc_settings

log = logging.getLogger(__name__)


def token_digest(event_token: str) -> str:
    return hashlib.sha256(event_token.encode()).hexdigest()


def stored_answer(db: Database, member_id: str, digest: str) -> ActivityAnswer | None:
    with db.read_session() as session:
        return session.scalar(select(ActivityAnswer).where(
            ActivityAnswer.member_id == member_id, ActivityAnswer.token_digest == digest))


def claim_answer(db: Database, ctx: HandlerContext, digest: str, answer: Answer) -> ActivityAnswer:
    """Commit the answer with its marker; the one stored first wins when two runs race."""
    payload = ctx.message.payload
    try:
        with db.session() as session:
            session.add(ActivityAnswer(member_id=ctx.message.member_id, token_digest=digest, code=ctx.message.name,
                                       workflow_id=str(payload.get("workflow_id", ""))[:64], status="sending",
                                       outcome="ok" if answer.ok else "error", answer=_encode(answer)))
    except IntegrityError:
        pass
    stored = stored_answer(db, ctx.message.member_id, digest)
    assert stored is not None
    return stored


def _encode(answer: Answer) -> str:
    return json.dumps({"values": answer.values, "log_message": answer.log_message, "ok": answer.ok},
                      ensure_ascii=False)


def _decode(text: str) -> Answer:
    data = json.loads(text)
    return Answer(data["values"], data["log_message"], data["ok"])


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
    marker = stored_answer(db, message.member_id, digest)
    if marker is not None and (marker.status != "sending" or not marker.answer):  # sent, refused, or a
        log.info("activity %s of workflow %s already answered", message.name,  # marker of an older version
                 message.payload.get("workflow_id"))
        return
    client = client_for(ctx.app, message.member_id)
    if marker is None:
        _check_workflow_runs(client, message.payload)
        marker = claim_answer(db, ctx, digest, _work_or_give_up(ctx, client, work, bizproc_settings(ctx.app)))
    status, note = _send(client, event_token, _decode(marker.answer))
    ACTIVITY_ANSWER_SECONDS.labels(message.name).observe((utcnow() - message.received_at).total_seconds())
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


def _check_workflow_runs(client: RestCaller, payload: dict) -> None:
    """The callback names a workflow the portal runs: a call forged with a leaked application_token
    does no work in 1C (the portal shows that token to browsers in some frame POSTs)."""
    workflow_id = str(payload.get("workflow_id") or "")
    rows = client.call("bizproc.workflow.instances", {"SELECT": ["ID"], "FILTER": {"ID": workflow_id}}).result \
        if workflow_id else []
    if not any(str(row.get("ID")) == workflow_id for row in rows or []):
        raise FatalHandlerError("на портале нет выполняющегося бизнес-процесса этого вызова")


def _send(client: RestCaller, event_token: str, answer: Answer) -> tuple[str, str | None]:
    """``("sent", None)``, or ``("refused", code)`` when the portal answers with an error no repeat can
    change (the workflow was stopped, the token is not the portal's); anything that may pass on a
    repeat (transport, 5xx, the portal's limits, an expired token) raises for the inbox to retry."""
    try:
        client.call("bizproc.event.send", {"EVENT_TOKEN": event_token, "RETURN_VALUES": answer.values,
                                           "LOG_MESSAGE": answer.log_message})
    except B24APIError as error:
        if is_ambiguous(error) or isinstance(error, (B24RefusedError, B24AuthError)):
            raise
        log.warning("bizproc.event.send refused: %s", error.code)
        return "refused", error.code
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
