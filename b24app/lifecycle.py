"""Worker-side handlers of the app lifecycle events (Bitrix24 REST docs: ``api-reference/common/events/``).

The portal shows the application_token to the browser in some frame POSTs (placement widgets), so a
portal user could forge a lifecycle event with it: the uninstall is carried out only once the portal
itself no longer lets the app in.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from b24app.bitrix.errors import B24AuthError

from b24app.dispatch import HandlerContext, event
from b24app.features import get_features
from b24app.install_steps import InstallContext, run_install_steps
from b24app.portal import client_for, get_config, get_store

log = logging.getLogger(__name__)


def app_installed(ctx: HandlerContext, session: Session) -> None:
    """installFinish happened: events and placements are live from now on."""
    get_store(ctx.app).set_status(member_id=ctx.message.member_id, status="installed", session=session)


def app_updated(ctx: HandlerContext, session: Session) -> None:
    """Bitrix24 wiped our handlers and activities: register them again."""
    client = client_for(ctx.app, ctx.message.member_id)
    run_install_steps(InstallContext(client, get_config(ctx.app)), get_features(ctx.app).install_steps)


def app_uninstalled(ctx: HandlerContext, session: Session) -> None:
    """Forget the tokens; with data[CLEAN] also the portal's data — if the portal confirms the app is gone."""
    if _still_installed(ctx):
        log.warning("ONAPPUNINSTALL for %s while the portal still lets the app in: ignored", ctx.message.member_id)
        return
    data = ctx.message.payload.get("data")
    clean = isinstance(data, dict) and str(data.get("CLEAN", "0")) in ("1", "Y", "y", "true")
    get_store(ctx.app).uninstall(member_id=ctx.message.member_id, clean=clean, session=session)


def _still_installed(ctx: HandlerContext) -> bool:
    """``app.info`` with the stored token answers for an installed app (an uninstalled app's tokens are refused)."""
    try:
        with client_for(ctx.app, ctx.message.member_id) as client:
            info = client.call("app.info").result
    except (B24AuthError, LookupError):
        return False
    return isinstance(info, dict) and info.get("INSTALLED") in (True, "Y", "true", 1)


HANDLERS = {event("ONAPPINSTALL"): app_installed, event("ONAPPUPDATE"): app_updated,
            event("ONAPPUNINSTALL"): app_uninstalled}
