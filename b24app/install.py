"""``/b24/install``: the install URL of the local application (Bitrix24 REST docs:
``settings/app-installation/local-apps``, ``sdk/bx24-js-sdk/system-functions/bx24-install-finish.md``).

The portal POSTs the installing admin's tokens. Nothing in that form is trusted as such: the
verifier exchanges the refresh token at the OAuth server with our client secret, so only tokens
issued to our app pass, and the OAuth server's answer — not the form — says which portal
(member_id, client_endpoint) and which user they belong to. Then the admin check, the server-side
steps (events, placements, activities) and the installation is stored as «installing»; the page
calls ``BX24.installFinish()`` and ONAPPINSTALL marks it installed. On any failure the steps are
undone, nothing is stored and the admin sees a Russian error page.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, render_template, request

from b24app.bitrix import B24Client
from b24app.bitrix.errors import B24Error
from b24app.features import get_features
from b24app.formparse import MalformedBody, parse_request
from b24app.install_steps import InstallContext, run_install_steps
from b24app.portal import get_config, get_store, limits_of, oauth_server
from b24app.store import NewInstallation, TokenSet
from b24app.verify import PORTAL_HOST, InstallRefused, get_verifier

log = logging.getLogger(__name__)

bp = Blueprint("b24_install", __name__, url_prefix="/b24")

REQUIRED = ("AUTH_ID", "REFRESH_ID", "member_id")


class InstallTokens:
    """TokenProvider over the install POST's tokens (refreshable, kept in memory until stored)."""

    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    def current(self) -> str:
        return self.tokens.access_token

    def refresh(self, stale_token: str) -> str:
        if stale_token == self.tokens.access_token:
            self.tokens = oauth_server(current_app).refresh(self.tokens.refresh_token).tokens
        return self.tokens.access_token


@bp.route("/install", methods=["POST"])
def install():  # type: ignore[no-untyped-def]
    try:
        form = _install_form()
        installation = _install(form)
    except InstallRefused as exc:
        return render_template("install_error.html", message=str(exc)), 400
    except B24Error as exc:
        log.warning("install failed: %s", getattr(exc, "code", type(exc).__name__))
        return render_template("install_error.html", message=_explain(exc)), 502
    config = get_config(current_app)
    return render_template("install_done.html", bx24_js_url=config.bx24_js_url, installation=installation)


def _install_form() -> dict[str, Any]:
    try:
        form = parse_request()
    except MalformedBody as exc:
        raise InstallRefused(f"Некорректный запрос установки: {exc}") from exc
    form.update({k: v for k, v in request.args.items() if k in ("DOMAIN", "PROTOCOL", "LANG", "APP_SID")})
    missing = [k for k in (*REQUIRED, "DOMAIN") if not isinstance(form.get(k), str) or not form[k]]
    if missing:
        raise InstallRefused("Страница установки открыта не из Битрикс24: нет параметров " + ", ".join(missing))
    if not PORTAL_HOST.fullmatch(form["DOMAIN"]):
        raise InstallRefused("Некорректный адрес портала в запросе установки")
    return form


def _install(form: dict[str, Any]):  # type: ignore[no-untyped-def]
    config = get_config(current_app)
    proven = get_verifier(current_app).install(form)
    grant, domain = proven.grant, proven.domain
    tokens = InstallTokens(grant.tokens)
    client = B24Client(grant.client_endpoint, tokens=tokens, **limits_of(current_app, grant.member_id))
    admin = client.call("profile", {}).result
    if not isinstance(admin, dict) or not admin.get("ADMIN"):
        raise InstallRefused("Устанавливать приложение может только администратор портала")
    run_install_steps(InstallContext(client, config), get_features(current_app).install_steps)
    scopes = tuple(s for s in str(form.get("APPLICATION_SCOPE", "")).split(",") if s) or config.scopes
    return get_store(current_app).save(NewInstallation(
        member_id=grant.member_id, domain=domain, client_endpoint=grant.client_endpoint,
        server_endpoint=form.get("SERVER_ENDPOINT"), tokens=tokens.tokens,
        application_token=form.get("APPLICATION_TOKEN") or None, scopes=scopes,
        admin_user_id=grant.user_id, app_version=config.app_version), status="installing")


def _explain(exc: Exception) -> str:
    code = getattr(exc, "code", "")
    if code in ("insufficient_scope", "INSUFFICIENT_SCOPE"):
        return "У приложения недостаточно прав: проверьте права (scope) в карточке приложения."
    if code in ("invalid_grant", "invalid_token", "expired_token"):
        return "Битрикс24 не принял ключи установки. Откройте приложение ещё раз."
    return f"Не удалось выполнить установку: Битрикс24 ответил ошибкой {code or type(exc).__name__}."
