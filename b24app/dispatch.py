"""What a handler of an inbox item is: ``fn(ctx: HandlerContext, session: Session) -> None``.

Features map ``("event", "ONAPPUPDATE")``, ``("activity", "<code>")`` or ``("message", "sms")`` (a message the
portal asks one of the app's messaging providers to send) to their handlers in their
declaration (:class:`b24app.features.Feature`); the worker looks them up through
:func:`b24app.features.get_features`. A handler raises :class:`FatalHandlerError` for calls that
can never succeed (parked at once) and any other exception for transient failures (retried with
backoff).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from b24app.inbox import InboxMessage

Handler = Callable[["HandlerContext", Session], None]
# (kind, name): ("event", "ONAPPUPDATE"), ("activity", "zup_vacation_balance") or ("message", "sms")
HandlerKey = tuple[str, str]


class FatalHandlerError(Exception):
    """The item can never be processed; park it as failed without retrying."""


@dataclass(frozen=True)
class HandlerContext:
    app: Flask
    message: "InboxMessage"


def event(name: str) -> HandlerKey:
    return ("event", name.upper())


def activity(code: str) -> HandlerKey:
    return ("activity", code.lower())


def message(kind: str) -> HandlerKey:
    """A message of ``kind`` ("sms") for a provider the app registered (messageservice.sender.add)."""
    return ("message", kind.lower())


def handler_key(kind: str, name: str) -> HandlerKey:
    """The key of an inbox item: event names are matched upper-case, everything else lower-case."""
    return event(name) if kind == "event" else (kind, name.lower())
