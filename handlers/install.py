"""``/b24/install``: the install URL of the local application (b24-app.md §2.3–§2.4).

The portal POSTs the installing admin's tokens. We check they work on that portal, run the
server-side steps (events, placements, activities), store the installation, and only then return
the page that calls ``BX24.installFinish()``. On any failure the steps are undone, nothing is
stored and the admin sees a Russian error page.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, current_app, render_template, request

from b24app.bitrix import B24Client
from b24app.bitrix.errors import B24Error
from b24app.install_steps import InstallContext, run_install_steps
from b24app.portal import get_config, get_store, oauth_server
from b24app.store import NewInstallation, TokenSet
from handlers.formparse import MalformedBody, parse_body

log = logging.getLogger(__name__)

bp = Blueprint("b24_install", __name__, url_prefix="/b24")

REQUIRED = ("AUTH_ID", "REFRESH_ID", "member_id")


class InstallRefused(Exception):
    """Installation cannot proceed; the message is shown to the admin."""


class InstallTokens:
    """TokenProvider over the install POST's tokens (refreshable, kept in memory until stored)."""

    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    def current(self) -> str:
        return self.tokens.access_token

    def refresh(self, stale_token: str) -> str:
        if stale_token == self.tokens.access_token:
            self.tokens = oauth_server(current_app).refresh(self.tokens.refresh_token)
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
        form = parse_body(request.get_data(cache=False), request.content_type)
    except MalformedBody as exc:
        raise InstallRefused(f"Некорректный запрос установки: {exc}") from exc
    form.update({k: v for k, v in request.args.items() if k in ("DOMAIN", "PROTOCOL", "LANG", "APP_SID")})
    missing = [k for k in REQUIRED if not isinstance(form.get(k), str) or not form[k]]
    if missing:
        raise InstallRefused("Страница установки открыта не из Битрикс24: нет параметров " + ", ".join(missing))
    if not isinstance(form.get("DOMAIN"), str) or not form["DOMAIN"]:
        raise InstallRefused("Страница установки открыта не из Битрикс24: нет параметра DOMAIN")
    return form


def _client_endpoint(form: dict[str, Any]) -> str:
    scheme = "http" if str(form.get("PROTOCOL", "1")) == "0" else "https"
    return f"{scheme}://{form['DOMAIN']}/rest/"


def _check_domain(domain: str, member_id: str) -> None:
    config = get_config(current_app)
    host = urlparse(f"//{domain}").hostname or ""
    if config.allowed_domains and domain not in config.allowed_domains and host not in config.allowed_domains:
        raise InstallRefused(f"Портал {domain} не указан в app.allowed_domains")
    known = get_store(current_app).find(member_id=member_id)
    if known and known.status != "uninstalled" and known.domain != domain:
        raise InstallRefused("Этот портал уже установлен с другим адресом; удалите приложение и установите снова")


def _install(form: dict[str, Any]):  # type: ignore[no-untyped-def]
    config = get_config(current_app)
    domain, member_id = form["DOMAIN"], form["member_id"]
    _check_domain(domain, member_id)
    tokens = InstallTokens(TokenSet.from_oauth(
        {"access_token": form["AUTH_ID"], "refresh_token": form["REFRESH_ID"],
         "expires_in": form.get("AUTH_EXPIRES") or 3600}))
    client = B24Client(_client_endpoint(form), tokens=tokens)
    admin = client.call("profile", {}).result
    if not isinstance(admin, dict) or not admin.get("ADMIN"):
        raise InstallRefused("Устанавливать приложение может только администратор портала")
    run_install_steps(InstallContext(client, config))
    scopes = tuple(s for s in str(form.get("APPLICATION_SCOPE", "")).split(",") if s) or config.scopes
    return get_store(current_app).save(NewInstallation(
        member_id=member_id, domain=domain, client_endpoint=_client_endpoint(form),
        server_endpoint=form.get("SERVER_ENDPOINT"), tokens=tokens.tokens,
        application_token=form.get("APPLICATION_TOKEN") or None, scopes=scopes,
        admin_user_id=int(admin["ID"]) if str(admin.get("ID", "")).isdigit() else None,
        app_version=config.app_version))


def _explain(exc: Exception) -> str:
    code = getattr(exc, "code", "")
    if code in ("insufficient_scope", "INSUFFICIENT_SCOPE"):
        return "У приложения недостаточно прав: проверьте права (scope) в карточке приложения."
    if code in ("invalid_grant", "invalid_token", "expired_token"):
        return "Битрикс24 не принял ключи установки. Откройте приложение ещё раз."
    return f"Не удалось выполнить установку: Битрикс24 ответил ошибкой {code or type(exc).__name__}."
