"""Tokens of the portal's OAuth server: access tokens, rotating refresh tokens, authorization codes."""
from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from .clock import Clock
from .registry import RestError

REFRESH_TTL_S = 180 * 24 * 3600.0  # REST docs: settings/oauth/auto-renewal.md
CODE_TTL_S = 30.0  # authorization codes (REST docs: settings/oauth/index.md)


@dataclass
class Grant:
    """Who a token acts for."""

    client_id: str
    user_id: int
    expires: float
    used: bool = False


class OAuthError(Exception):
    def __init__(self, code: str, description: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.description = description
        self.status = status


def new_token() -> str:
    """70 hex characters, like the token in REST docs: settings/how-to-call-rest-api/authorization.md."""
    return secrets.token_hex(35)


class TokenStore:
    def __init__(self, clock: Clock, access_ttl_s: float, time_scale: float) -> None:
        self._clock = clock
        self.access_ttl_s = access_ttl_s
        self._time_scale = time_scale
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.codes: dict[str, Grant] = {}

    def issue(self, client_id: str, user_id: int) -> tuple[str, str, float]:
        """A fresh (access, refresh, expires) triple."""
        now = self._clock.now()
        access, refresh = new_token(), new_token()
        expires = now + self.access_ttl_s
        self.access[access] = Grant(client_id, user_id, expires)
        self.refresh[refresh] = Grant(client_id, user_id, now + REFRESH_TTL_S / self._time_scale)
        return access, refresh, expires

    def issue_code(self, client_id: str, user_id: int) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = Grant(client_id, user_id, self._clock.now() + CODE_TTL_S / self._time_scale)
        return code

    def authenticate(self, access_token: str) -> Grant:
        """The grant behind an access token, or the REST error a portal returns: expired_token (REST docs:
        _includes/system-errors.md), invalid_token [not in the docs: as bitrix-tools/crest handles it]."""
        grant = self.access.get(access_token)
        if grant is None:
            raise RestError("invalid_token", "The access token provided is invalid", 401)
        if grant.expires <= self._clock.now():
            raise RestError("expired_token", "The access token provided has expired", 401)
        return grant

    def redeem(self, store: dict[str, Grant], token: str, client_id: str) -> Grant:
        """Consume a refresh token or code once; reuse, expiry or a foreign client -> invalid_grant."""
        grant = store.get(token)
        if grant is None or grant.used or grant.client_id != client_id or grant.expires <= self._clock.now():
            raise OAuthError("invalid_grant", "Invalid grant", 400)
        grant.used = True
        return grant

    def expire(self, access_token: str | None) -> int:
        """Force ``expired_token`` for one token or for all; returns how many were expired."""
        targets = [self.access[access_token]] if access_token in self.access else []
        if access_token is None:
            targets = list(self.access.values())
        for grant in targets:
            grant.expires = min(grant.expires, self._clock.now())
        return len(targets)

    def drop_client(self, client_id: str) -> None:
        for store in (self.access, self.refresh, self.codes):
            for token in [token for token, grant in store.items() if grant.client_id == client_id]:
                del store[token]

    def snapshot(self) -> dict[str, Any]:
        return {name: {token: asdict(grant) for token, grant in store.items()}
                for name, store in (("access", self.access), ("refresh", self.refresh), ("codes", self.codes))}

    def restore(self, data: dict[str, Any]) -> None:
        for name in ("access", "refresh", "codes"):
            getattr(self, name).update({token: Grant(**grant) for token, grant in data.get(name, {}).items()})
