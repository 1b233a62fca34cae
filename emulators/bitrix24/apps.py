"""Local applications: registration, install/update/uninstall lifecycle and the OAuth grants.

REST docs: local-integrations/local-apps.md, settings/app-installation/, settings/oauth/.
"""
from __future__ import annotations

import json
import random
import re
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from .bx24js import remember_frame
from .dispatch import post_form
from .oauth import OAuthError
from .state import ALL_SCOPES, App, PortalState, new_application_token

INSTALL_FINISH = re.compile(r"BX24\s*\.\s*installFinish\s*\(")
INSTALL_TIMEOUT_S = 30.0


class AppSpecError(ValueError):
    """A registration request the portal would not save."""


def register_app(portal: PortalState, data: dict[str, Any]) -> App:
    """Save a local app like the developer form does; client_id ``local.<hex>.<digits>``."""
    handler_url, install_url = str(data.get("handler_url") or ""), str(data.get("install_url") or "")
    for name, url in (("handler_url", handler_url), ("install_url", install_url or handler_url)):
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise AppSpecError(f"{name} must be an absolute http(s) URL")
    scopes = data.get("scopes") or list(ALL_SCOPES)
    scopes = scopes.split(",") if isinstance(scopes, str) else scopes
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise AppSpecError("scopes must be a list of scope codes")
    client_id = str(data.get("client_id") or f"local.{secrets.token_hex(7)}.{random.randint(10**7, 10**8 - 1)}")
    if client_id in portal.apps:
        raise AppSpecError("client_id already registered")
    app = App(app_id=portal.next_id("apps"), client_id=client_id,
              client_secret=str(data.get("client_secret") or secrets.token_urlsafe(36)),
              handler_url=handler_url, install_url=install_url or handler_url,
              scopes=[scope.strip() for scope in scopes if scope.strip()],
              api_only=bool(data.get("api_only", False)), application_token=new_application_token())
    portal.apps[client_id] = app
    return app


# Placements whose frame form has only the standard widget data (b24restdocs api-reference/widgets/left-menu.md,
# universal/app-url.md); the others also carry SERVER_ENDPOINT, APPLICATION_TOKEN and APPLICATION_SCOPE
# (workgroups/detail-tab.md, and the install frame).
PLAIN_FRAME_PLACEMENTS = ("LEFT_MENU", "REST_APP_URI")


def frame_request(portal: PortalState, app: App, user_id: int, handler: str, placement: str,
                  options: dict[str, Any] | None, domain: str | None = None,
                  secure: bool | None = None) -> tuple[str, dict[str, Any]]:
    """URL and form of the frame POST that opens ``handler``: DOMAIN, PROTOCOL, LANG, APP_SID in the query, the
    rest in the body, PLACEMENT_OPTIONS a JSON string (b24restdocs api-reference/widgets/_includes/widget_data.md,
    workgroups/detail-tab.md); fresh tokens of ``user_id`` for ``app``."""
    token = portal.issue_token(app.client_id, user_id)
    https = portal.base_url.startswith("https") if secure is None else secure
    query = {"DOMAIN": domain or portal.domain, "PROTOCOL": 1 if https else 0, "LANG": "ru",
             "APP_SID": secrets.token_hex(16)}
    separator = "&" if "?" in handler else "?"
    form: dict[str, Any] = {"AUTH_ID": token["access_token"], "AUTH_EXPIRES": token["expires_in"],
                            "REFRESH_ID": token["refresh_token"]}
    if placement not in PLAIN_FRAME_PLACEMENTS:
        form.update({"SERVER_ENDPOINT": portal.server_endpoint, "APPLICATION_TOKEN": app.application_token,
                     "APPLICATION_SCOPE": ",".join(app.scopes)})
    form.update({"member_id": portal.member_id, "status": app.status, "PLACEMENT": placement})
    if placement != "LEFT_MENU":  # left-menu.md: PLACEMENT_OPTIONS is not passed
        form["PLACEMENT_OPTIONS"] = json.dumps(options or {}, ensure_ascii=False)
    return f"{handler}{separator}{urlencode(query)}", form


def install_request(portal: PortalState, app: App, user_id: int) -> tuple[str, dict[str, Any]]:
    """The frame POST a portal sends to the install page
    (REST docs: local-integrations/serverside-local-app-with-ui.md)."""
    return frame_request(portal, app, user_id, app.install_url, "DEFAULT", {})


def lifecycle_data(portal: PortalState, app: App, user_id: int | None, event: str) -> dict[str, Any]:
    """ONAPPINSTALL / ONAPPUPDATE payload
    (REST docs: api-reference/common/events/on-app-install.md, on-app-update.md)."""
    return {"event": event, "data": {"VERSION": str(app.version), "ACTIVE": "Y", "INSTALLED": "Y", "LANGUAGE_ID": "ru"},
            "ts": str(int(portal.clock.now())), "auth": portal.events.auth_block(app, user_id, event)}


def install(portal: PortalState, client_id: str, user_id: int) -> dict[str, Any]:
    """POST the install page (outside the portal lock: the page calls REST back) and react to installFinish."""
    with portal.lock:
        app = _existing(portal, client_id)
        if app.api_only:
            url, form = app.install_url, lifecycle_data(portal, app, user_id, "ONAPPINSTALL")
        else:
            url, form = install_request(portal, app, user_id)
            remember_frame(portal, client_id, user_id, form)
    try:
        response = post_form(url, form, INSTALL_TIMEOUT_S)
    except requests.RequestException as error:
        return {"status": None, "body": f"{type(error).__name__}", "installed": False}
    with portal.lock:
        if app.api_only:
            # API-only: installed by the callback (REST docs: settings/app-installation/installation-finish.md)
            app.installed = True
        elif INSTALL_FINISH.search(response.text):
            finish_install(portal, client_id, user_id)
        return {"status": response.status_code, "body": response.text, "installed": app.installed}


def finish_install(portal: PortalState, client_id: str, user_id: int) -> App:
    """What ``BX24.installFinish()`` does: INSTALLED and ONAPPINSTALL to bound handlers."""
    app = _existing(portal, client_id)
    app.installed = True
    payload = lifecycle_data(portal, app, user_id, "ONAPPINSTALL")
    portal.events.deliver_to_bound(app, "ONAPPINSTALL", payload["data"], payload["auth"])
    return app


def update(portal: PortalState, client_id: str, version: int, user_id: int) -> App:
    """New version: ONAPPUPDATE with a new application_token, then registrations are wiped
    (REST docs: api-reference/common/events/on-app-update.md, api-reference/events/event-bind.md)."""
    app = _existing(portal, client_id)
    app.version = version if version > app.version else app.version + 1
    app.application_token = new_application_token()
    if app.installed:
        payload = lifecycle_data(portal, app, user_id, "ONAPPUPDATE")
        portal.events.deliver_to_bound(app, "ONAPPUPDATE", payload["data"], payload["auth"])
    portal.wipe_app_registrations(client_id)
    return app


def uninstall(portal: PortalState, client_id: str, clean: bool) -> None:
    """ONAPPUNINSTALL whose auth carries only endpoints, member_id and application_token
    (REST docs: api-reference/common/events/on-app-uninstall.md)."""
    app = _existing(portal, client_id)
    if app.installed:
        auth = portal.events.auth_block(app, None, "ONAPPUNINSTALL")
        portal.events.deliver_to_bound(app, "ONAPPUNINSTALL", {"LANGUAGE_ID": "ru", "CLEAN": 1 if clean else 0}, auth)
    portal.wipe_app_registrations(client_id)
    portal.tokens.drop_client(client_id)
    del portal.apps[client_id]


def _existing(portal: PortalState, client_id: str) -> App:
    app = portal.app(client_id)
    if app is None:
        raise KeyError(client_id)
    return app


# -- OAuth server (/oauth/token/ on its own port, see server.OAuthApp) ------------------------------

def grant_token(portal: PortalState, params: dict[str, Any]) -> dict[str, Any]:
    """refresh_token and authorization_code grants; the refresh token rotates
    (REST docs: settings/oauth/index.md, settings/oauth/auto-renewal.md)."""
    app = portal.app(str(params.get("client_id", "")))
    if app is None or params.get("client_secret") != app.client_secret:
        raise OAuthError("invalid_client", "Invalid client", 401)
    grant_type = params.get("grant_type")
    if grant_type == "refresh_token":
        grant = portal.tokens.redeem(portal.tokens.refresh, str(params.get("refresh_token", "")), app.client_id)
    elif grant_type == "authorization_code":
        grant = portal.tokens.redeem(portal.tokens.codes, str(params.get("code", "")), app.client_id)
    else:
        raise OAuthError("invalid_request", "Unsupported grant_type", 400)
    return portal.issue_token(app.client_id, grant.user_id)


def authorize_redirect(portal: PortalState, params: dict[str, Any]) -> str:
    """``/oauth/authorize/``: redirect to the app with a 30-second code (REST docs: settings/oauth/index.md)."""
    app = portal.app(str(params.get("client_id", "")))
    if app is None:
        raise OAuthError("invalid_client", "Invalid client", 401)
    user_id = int(params.get("user_id", 1) or 1)
    code = portal.tokens.issue_code(app.client_id, user_id)
    target = str(params.get("redirect_uri") or app.handler_url)
    query = {"code": code, "state": params.get("state", ""), "domain": portal.domain,
             "member_id": portal.member_id, "scope": ",".join(app.scopes),
             "server_domain": portal.oauth_domain}  # b24restdocs settings/oauth/index.md
    return f"{target}{'&' if '?' in target else '?'}{urlencode(query)}"
