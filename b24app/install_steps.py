"""Server-side installation steps, run at install and again after every app update.

Bitrix24 wipes an app's event handlers, activities and placements on update (Bitrix24 REST docs:
api-reference/common/events/on-app-update.md), so every step is idempotent: it registers only what is missing. A step returns an undo
callable for what it created; a failed install undoes the steps that ran, newest first, so
nothing half-registered is left behind. The core's steps (events, the deep-link placement) run
first, then each enabled feature's ``Feature.install_steps`` in the order of the features.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from b24app.bitrix.errors import B24Error
from b24app.config import Config

log = logging.getLogger(__name__)

Undo = Callable[[], None]


class RestCaller(Protocol):
    def call(self, method: str, params: dict): ...  # noqa: ANN201 - returns the client's Result


@dataclass(frozen=True)
class InstallContext:
    client: RestCaller
    config: Config


InstallStep = Callable[[InstallContext], list[Undo]]


def run_install_steps(ctx: InstallContext, steps: Sequence[InstallStep]) -> None:
    """Run every step; on failure undo what was done and re-raise."""
    undos: list[Undo] = []
    try:
        for step in steps:
            undos.extend(step(ctx))
    except Exception:
        for undo in reversed(undos):
            try:
                undo()
            except B24Error as exc:  # best effort: report and continue undoing the rest
                log.warning("undo failed: %s", exc.code)
        raise


def events_handler_url(config: Config) -> str:
    return f"{config.public_url}/b24/events"


def bind_events(ctx: InstallContext) -> list[Undo]:
    """event.bind every configured event (ONAPPINSTALL included) to /b24/events."""
    handler = events_handler_url(ctx.config)
    bound = {(str(h.get("event", "")).upper(), h.get("handler")) for h in ctx.client.call("event.get", {}).result}
    wanted = dict.fromkeys(("ONAPPINSTALL", *ctx.config.events))
    undos: list[Undo] = []
    for event in wanted:
        if (event, handler) in bound:
            continue
        ctx.client.call("event.bind", {"event": event, "handler": handler})
        undos.append(_unbind(ctx.client, event, handler))
    return undos


def _unbind(client: RestCaller, event: str, handler: str) -> Undo:
    return lambda: client.call("event.unbind", {"event": event, "handler": handler})


def bind_placements(ctx: InstallContext) -> list[Undo]:
    """placement.bind REST_APP_URI so notifications can deep-link into the app page."""
    handler = f"{ctx.config.public_url}/b24/app"
    bound = {(p.get("placement"), p.get("handler")) for p in _placement_list(ctx.client)}
    if ("REST_APP_URI", handler) in bound:
        return []
    ctx.client.call("placement.bind", {"PLACEMENT": "REST_APP_URI", "HANDLER": handler,
                                       "TITLE": "Кабинет сотрудника"})
    return [lambda: ctx.client.call("placement.unbind", {"PLACEMENT": "REST_APP_URI", "HANDLER": handler})]


def _placement_list(client: RestCaller) -> list[dict]:
    result = client.call("placement.get", {}).result
    return [p for p in result if isinstance(p, dict)] if isinstance(result, list) else []
