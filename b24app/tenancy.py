"""Which portal the code runs for: a scope set by the worker, the scheduler and the CLI.

The installation store keys everything by ``member_id``. ``app.yaml`` may name several portals, each
with its own sections (``portals: {<member_id>: {sync: …, onec: …, schedules: …}}``); inside
``portal_scope(member_id)`` the configuration answers with that portal's sections
(``Config.settings`` / ``Config.section``) and ``client_for(app)`` reaches that portal. Outside any
scope, or for a portal that names no section of its own, the top-level sections apply — a
single-portal app.yaml works unchanged.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CURRENT: ContextVar[str | None] = ContextVar("b24app_portal", default=None)


def current_portal() -> str | None:
    """The member_id of the portal in scope, or None."""
    return _CURRENT.get()


def enter_portal(member_id: str | None) -> Callable[[], None]:
    """Put the rest of this context in ``member_id``'s scope (``b24app --portal ID <command>``);
    return the function that leaves it."""
    token = _CURRENT.set(member_id)
    return lambda: _CURRENT.reset(token)


@contextmanager
def portal_scope(member_id: str | None) -> Iterator[None]:
    token = _CURRENT.set(member_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)
