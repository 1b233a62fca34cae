"""Which function handles which inbox item: ``@on_event("ONAPPUPDATE")``, ``@on_activity("code")``.

A handler is ``fn(ctx: HandlerContext, session: Session) -> None``; it raises
:class:`FatalHandlerError` for calls that can never succeed (parked at once) and any other
exception for transient failures (retried with backoff).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from flask import Flask
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from b24app.inbox import InboxMessage

Handler = Callable[["HandlerContext", Session], None]

_HANDLERS: dict[tuple[str, str], Handler] = {}


class FatalHandlerError(Exception):
    """The item can never be processed; park it as failed without retrying."""


@dataclass(frozen=True)
class HandlerContext:
    app: Flask
    message: "InboxMessage"


def on_event(name: str) -> Callable[[Handler], Handler]:
    return _register("event", name.upper())


def on_activity(code: str) -> Callable[[Handler], Handler]:
    return _register("activity", code.lower())


def _register(kind: str, name: str) -> Callable[[Handler], Handler]:
    def decorator(func: Handler) -> Handler:
        _HANDLERS[(kind, name)] = func
        return func

    return decorator


def find_handler(kind: str, name: str) -> Handler | None:
    key = name.upper() if kind == "event" else name.lower()
    return _HANDLERS.get((kind, key))
