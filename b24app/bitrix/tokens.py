"""Access tokens of an installed portal: read from the store, refreshed once under a lease.

Bitrix24 rotates the refresh token on every refresh and rejects a reused one with
``invalid_grant`` (Bitrix24 REST docs: settings/oauth/index.md), so concurrent callers must never refresh twice: the first
takes a per-portal lease row, refreshes, persists the new pair, releases; the others wait for
the token generation to change and use the new token.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import requests

from b24app.bitrix.errors import (B24AuthFatal, B24BadResponse, B24ConnectionError, B24Error, B24Timeout,
                                  api_error)
from b24app.metrics import TOKEN_REFRESHES
from b24app.models import utcnow
from b24app.store import Installation, InstallationStore, TokenSet

log = logging.getLogger(__name__)

REFRESH_LEASE_S = 20.0  # above the OAuth call's own timeouts; a dead holder blocks the others this long at most
WAIT_STEP_S = 0.02
EXPIRY_MARGIN_S = 60.0  # a token this close to its expiry is refreshed before it is used


@dataclass(frozen=True)
class TokenGrant:
    """A refresh answer: the new pair and whom it belongs to, as the OAuth server says."""

    tokens: TokenSet
    member_id: str
    client_endpoint: str
    user_id: int | None


@dataclass(frozen=True)
class OAuthServer:
    """The Bitrix24 OAuth server (oauth.bitrix.info in production, the emulator in tests)."""

    token_url: str
    client_id: str
    client_secret: str
    timeout: tuple[float, float] = (5.0, 10.0)

    def refresh(self, refresh_token: str) -> TokenGrant:
        """Exchange a refresh token for a new pair (the old refresh token is consumed).

        Only tokens issued to our client_id can be exchanged (the request carries our secret), so
        the answer's member_id and client_endpoint are the portal's word on whose tokens these are.
        """
        params = {"grant_type": "refresh_token", "client_id": self.client_id,
                  "client_secret": self.client_secret, "refresh_token": refresh_token}
        try:
            response = requests.post(self.token_url, data=params, timeout=self.timeout)
        except requests.Timeout as exc:
            raise B24Timeout(f"OAuth server: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise B24ConnectionError(f"OAuth server: {type(exc).__name__}") from exc
        try:
            data = response.json()
        except ValueError:
            raise B24BadResponse(response.status_code, response.headers.get("Content-Type", ""),
                                 response.text[:200]) from None
        if not isinstance(data, dict) or "access_token" not in data:
            data = data if isinstance(data, dict) else {}
            # invalid_grant / invalid_client map to B24AuthFatal: the portal must reinstall the app
            raise api_error(str(data.get("error", "invalid_response")), str(data.get("error_description", "")),
                            status=response.status_code)
        user_id = str(data.get("user_id", ""))
        return TokenGrant(TokenSet.from_oauth(data), str(data.get("member_id", "")),
                          str(data.get("client_endpoint", "")), int(user_id) if user_id.isdigit() else None)


class PortalTokens:
    """The TokenProvider of one installed portal."""

    _local_locks: dict[str, threading.Lock] = {}
    _local_locks_guard = threading.Lock()

    def __init__(self, store: InstallationStore, member_id: str, oauth: OAuthServer, *,
                 expiry_margin_s: float = EXPIRY_MARGIN_S) -> None:
        self.store = store
        self.member_id = member_id
        self.oauth = oauth
        self.expiry_margin = timedelta(seconds=expiry_margin_s)
        self.holder = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"

    def current(self) -> str:
        """The stored access token, refreshed first when it is about to expire (no call then fails on
        expired_token); if that refresh fails, the token is used while it still lives."""
        installation = self._installation()
        token = installation.access_token
        if installation.expires_at is None or installation.expires_at - utcnow() > self.expiry_margin:
            return token
        try:
            return self.refresh(token)
        except B24Error as exc:
            log.warning("early token refresh of %s failed: %s", self.member_id, type(exc).__name__)
            return token

    def _installation(self) -> Installation:
        installation = self.store.find(member_id=self.member_id)
        if installation is None or not installation.access_token:
            raise B24AuthFatal("not_installed", f"portal {self.member_id} has no stored tokens")
        return installation

    def refresh(self, stale_token: str) -> str:
        """Return a fresh access token; only one caller across processes talks to OAuth."""
        with self._local_lock():
            deadline = time.monotonic() + REFRESH_LEASE_S + 5
            while time.monotonic() < deadline:
                fresh = self._fresher_than(stale_token)
                if fresh:
                    return fresh
                if self.store.try_acquire_refresh_lease(member_id=self.member_id, holder=self.holder,
                                                        seconds=REFRESH_LEASE_S):
                    return self._refresh_holding_lease(stale_token)
                time.sleep(WAIT_STEP_S)
        raise B24Timeout("another process holds the refresh lease too long")

    def _fresher_than(self, stale_token: str) -> str | None:
        token = self._installation().access_token
        return token if token != stale_token else None

    def _refresh_holding_lease(self, stale_token: str) -> str:
        new: TokenSet | None = None
        generation: int | None = None
        try:
            installation = self.store.find(member_id=self.member_id)
            if installation is None or not installation.refresh_token:
                raise B24AuthFatal("not_installed", f"portal {self.member_id} has no refresh token")
            if installation.access_token != stale_token:
                return installation.access_token or ""
            generation = installation.token_generation
            try:
                new = self.oauth.refresh(installation.refresh_token).tokens
            except B24AuthFatal:
                TOKEN_REFRESHES.labels("refused").inc()
                self.store.mark_tokens_broken(member_id=self.member_id)
                log.error("portal %s: the OAuth server refused the stored refresh token; an administrator "
                          "opening the app restores it", self.member_id)
                raise
            except B24Error:
                TOKEN_REFRESHES.labels("failed").inc()
                raise
            TOKEN_REFRESHES.labels("ok").inc()
            return new.access_token
        finally:
            self.store.release_refresh_lease(member_id=self.member_id, holder=self.holder, tokens=new,
                                             expected_generation=generation)

    def _local_lock(self) -> threading.Lock:
        with self._local_locks_guard:
            return self._local_locks.setdefault(self.member_id, threading.Lock())
