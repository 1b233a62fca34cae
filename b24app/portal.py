"""How the service reaches a portal: the store, the OAuth server and REST clients per portal.

With ``B24APP_REDIS_URL`` set, every client of a portal books its requests in that portal's one
bucket in Redis (``b24app.bitrix.shared``), whichever process or machine it runs in.
"""
from __future__ import annotations

import threading
from urllib.parse import urlparse

from flask import Flask

from b24app import verify
from b24app.bitrix import B24Client, OperatingGovernor, RateLimits, RequestPacer
from b24app.bitrix.shared import RedisLink, SharedGovernor, SharedRequestPacer
from b24app.bitrix.tokens import EXPIRY_MARGIN_S, OAuthServer, PortalTokens
from b24app.config import Config
from b24app.crypto import TokenCipher
from b24app.db import get_db
from b24app.store import InstallationStore
from b24app.tenancy import current_portal


def get_config(app: Flask) -> Config:
    return app.extensions["b24app.config"]


def get_store(app: Flask) -> InstallationStore:
    return app.extensions["b24app.store"]


def oauth_server(app: Flask, member_id: str | None = None) -> OAuthServer:
    """The OAuth server: ``app.oauth_token_url``, or a portal's own ``portals.<member_id>.oauth_token_url``
    (an on-premise portal runs its own; it comes from app.yaml, never from what a request says)."""
    config = get_config(app)
    named = config.portals.get(member_id or "")
    url = str(named.sections.get("oauth_token_url") or config.oauth_token_url) if named else config.oauth_token_url
    return OAuthServer(url, config.client_id, config.client_secret)


PLANS = {"standard": RateLimits(), "enterprise": RateLimits(requests_per_s=5.0, burst=250)}


def plan_limits(config: Config) -> RateLimits:
    """The request-rate and operating-time limits of the portal's plan (Bitrix24 REST docs: settings/performance/limits.md)."""
    return PLANS[config.plan].scaled(config.time_scale)


def client_for(app: Flask, member_id: str | None = None) -> B24Client:
    """The REST client of an installed portal (app mode) or of the configured webhook."""
    config = get_config(app)
    if config.mode == "webhook":
        return B24Client(config.webhook_url, webhook=True, **limits_of(app, urlparse(config.webhook_url).netloc))
    store = get_store(app)
    member_id = member_id or current_portal() or installed_portal(app)
    if member_id is None:
        raise LookupError("укажите портал: установлено порталов — 0")
    installation = store.find(member_id=member_id)
    if installation is None or installation.status == "uninstalled":
        raise LookupError(f"приложение не установлено на портале {member_id}")
    tokens = PortalTokens(store, member_id, oauth_server(app, member_id), expiry_margin_s=EXPIRY_MARGIN_S / config.time_scale)
    return B24Client(installation.client_endpoint, tokens=tokens, **limits_of(app, member_id))


def installed_portal(app: Flask) -> str | None:
    """The member_id of the one installed portal; None when none is; LookupError when several are."""
    installed = [i.member_id for i in get_store(app).all() if i.status == "installed"]
    if len(installed) > 1:
        raise LookupError("укажите портал: установлено порталов — %d" % len(installed))
    return installed[0] if installed else None


def portal_key(app: Flask) -> str:
    """Whose state a feature's tables hold right now: the portal in scope, else the one installed portal;
    '' in webhook mode (one portal, known only by its webhook) and before any install. LookupError when
    several portals are installed and none is in scope (the caller must name one: ``b24app --portal ID``)."""
    if get_config(app).mode == "webhook":
        return ""
    return current_portal() or installed_portal(app) or ""


def portals_in_turn(app: Flask) -> list[str]:
    """Whom a scheduled job serves: the portal in scope, else every installed portal not paused, in
    order ('' alone in webhook mode). The job runs each in its own ``portal_scope``."""
    if current_portal() is not None:
        return [str(current_portal())]
    if get_config(app).mode == "webhook":
        return [""]
    store = get_store(app)
    paused = store.paused()
    return sorted(i.member_id for i in store.all() if i.status == "installed" and i.member_id not in paused)


def redis_link(app: Flask) -> RedisLink | None:
    """This process's link to the shared limits (None: limits kept in-process, the embedded default)."""
    return app.extensions.get("b24app.redis")


def limits_of(app: Flask, portal: str) -> dict:
    """The keyword arguments that make a B24Client book its requests in ``portal``'s one bucket: shared
    through Redis when configured, else this process's own (every client of the portal in this process,
    whatever token it carries, books in the same bucket, as the portal counts them together)."""
    config = get_config(app)
    limits = plan_limits(config)
    link = redis_link(app)
    if link is not None:
        share = config.cluster.fallback_share
        return {"plan_limits": limits, "pacer": SharedRequestPacer(link, portal, limits, fallback_share=share),
                "governor": SharedGovernor(link, portal, limits, fallback_share=share)}
    local: _LocalLimits = app.extensions["b24app.local_limits"]
    return {"plan_limits": limits, **local.of(portal, limits)}


class _LocalLimits:
    """One pacer and one operating-time governor per portal for the whole process (the embedded mode)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_portal: dict[str, dict] = {}

    def of(self, portal: str, limits: RateLimits) -> dict:
        with self._lock:
            if portal not in self._by_portal:
                self._by_portal[portal] = {"pacer": RequestPacer(limits), "governor": OperatingGovernor(limits)}
            return self._by_portal[portal]


def init_app(app: Flask, config: Config) -> None:
    app.extensions["b24app.config"] = config
    app.extensions["b24app.local_limits"] = _LocalLimits()
    if config.cluster.redis_url:
        app.extensions["b24app.redis"] = RedisLink(config.cluster.redis_url)
    app.extensions["b24app.store"] = InstallationStore(get_db(app), TokenCipher(config.token_keys))
    verify.init_app(app, get_store(app), oauth_server(app), config, limits=lambda portal: limits_of(app, portal))
