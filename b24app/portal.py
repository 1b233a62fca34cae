"""How the service reaches a portal: the store, the OAuth server and REST clients per portal."""
from __future__ import annotations

from flask import Flask

from b24app import verify
from b24app.bitrix import B24Client, RateLimits
from b24app.bitrix.tokens import EXPIRY_MARGIN_S, OAuthServer, PortalTokens
from b24app.config import Config
from b24app.crypto import TokenCipher
from b24app.db import get_db
from b24app.store import InstallationStore


def get_config(app: Flask) -> Config:
    return app.extensions["b24app.config"]


def get_store(app: Flask) -> InstallationStore:
    return app.extensions["b24app.store"]


def oauth_server(app: Flask) -> OAuthServer:
    config = get_config(app)
    return OAuthServer(config.oauth_token_url, config.client_id, config.client_secret)


PLANS = {"standard": RateLimits(), "enterprise": RateLimits(requests_per_s=5.0, burst=250)}


def plan_limits(config: Config) -> RateLimits:
    """The request-rate and operating-time limits of the portal's plan (Bitrix24 REST docs: settings/performance/limits.md)."""
    return PLANS[config.plan].scaled(config.time_scale)


def client_for(app: Flask, member_id: str | None = None) -> B24Client:
    """The REST client of an installed portal (app mode) or of the configured webhook."""
    config = get_config(app)
    if config.mode == "webhook":
        return B24Client(config.webhook_url, webhook=True, plan_limits=plan_limits(config))
    store = get_store(app)
    if member_id is None:
        installed = [i for i in store.all() if i.status == "installed"]
        if len(installed) != 1:
            raise LookupError("укажите портал: установлено порталов — %d" % len(installed))
        member_id = installed[0].member_id
    installation = store.find(member_id=member_id)
    if installation is None or installation.status == "uninstalled":
        raise LookupError(f"приложение не установлено на портале {member_id}")
    tokens = PortalTokens(store, member_id, oauth_server(app), expiry_margin_s=EXPIRY_MARGIN_S / config.time_scale)
    return B24Client(installation.client_endpoint, tokens=tokens, plan_limits=plan_limits(config))


def init_app(app: Flask, config: Config) -> None:
    app.extensions["b24app.config"] = config
    app.extensions["b24app.store"] = InstallationStore(get_db(app), TokenCipher(config.token_keys))
    verify.init_app(app, get_store(app), oauth_server(app), config)
