"""The one verifier of everything Bitrix24 sends: events, app-activity callbacks, the install POST and
the frame POST that opens a page (slack_sdk's ``SignatureVerifier`` shape: one object, one set of rules).

Rules:
- The portal is named by ``member_id`` and looked up in the installation store; its REST endpoint
  always comes from the store (or, at install, from the OAuth server's answer), never from the
  request (``DOMAIN``, ``client_endpoint`` in a form are only compared, never called).
- Events and activity callbacks carry ``auth[application_token]``, which must equal the stored
  token of that portal (Bitrix24 REST docs: ``api-reference/events/safe-event-handlers.md``).
- ONAPPINSTALL (older portals post no APPLICATION_TOKEN at install) and ONAPPUPDATE (which brings a
  *new* token: ``api-reference/common/events/on-app-update.md``) cannot match it: they are accepted
  only when the access token they carry is proven on the stored portal to be an administrator's
  token of *this* application (``app.info`` answers with our client_id as CODE).
- The install POST is proven by exchanging its refresh token at the OAuth server with our client
  secret: only tokens issued to our app pass, and the OAuth answer names the portal.
- A frame POST (the app page, a placement) is proven by calling the stored portal with the viewer's
  AUTH_ID: ``app.info`` (our app), ``user.current`` (who) and ``user.admin``; the proof is cached
  for the token's life in a bounded cache that never keeps a failure.
- A portal whose stored token pair stopped working (the OAuth server refused its refresh token) is
  healed by the next proof of authority it sends: an administrator opening the app (the frame
  POST's REFRESH_ID) or a lifecycle event carrying an administrator's tokens; the refresh token is
  exchanged at the OAuth server, which must name the same portal.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlparse

from cachetools import TLRUCache

from b24app.bitrix import B24Client
from b24app.bitrix.errors import B24AuthFatal, B24Error, B24QueryLimitExceeded
from b24app.bitrix.tokens import OAuthServer, TokenGrant
from b24app.config import Config
from b24app.store import Installation, InstallationStore

log = logging.getLogger(__name__)

LIFECYCLE_WITH_NEW_TOKEN = ("ONAPPINSTALL", "ONAPPUPDATE")
PORTAL_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?")  # a host[:port], nothing a URL parser could bend
VIEWER_CACHE_SIZE = 4096
VIEWER_PROOF_MAX_S = 3600.0  # Bitrix24 access tokens live one hour
PROOFS_IN_FLIGHT = 4  # per portal: calls to the portal made to prove a token nobody has proven yet
PROOF_TIMEOUT = (3.0, 10.0)  # connect, read: a proof never holds a web worker for long
MEMBER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class CallRejected(Exception):
    """The call is not from the portal it claims to be from (HTTP 401)."""

    def __init__(self, reason: str, member_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.member_id = member_id


class InstallRefused(Exception):
    """The install POST cannot be trusted; the message is shown to the admin."""


class ProofBusy(Exception):
    """Too many unproven tokens of one portal are being checked at once; try again shortly (HTTP 429)."""


@dataclass(frozen=True)
class Viewer:
    """A portal user proven by their own token of our app."""

    member_id: str
    user_id: int
    is_admin: bool
    name: str = ""


@dataclass(frozen=True)
class ProvenInstall:
    """An install POST whose tokens the OAuth server exchanged: the portal and its admin's pair."""

    grant: TokenGrant
    domain: str


class OneOffToken:
    """A TokenProvider for a token that must not be refreshed (event, frame and install tokens)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def current(self) -> str:
        return self.token

    def refresh(self, stale_token: str) -> str:
        raise B24AuthFatal("expired_token", "the one-off token has expired")


class Verifier:
    """Proves every kind of call Bitrix24 makes to the app."""

    def __init__(self, store: InstallationStore, oauth: OAuthServer, config: Config,
                 limits: Callable[[str], Mapping[str, Any]] = lambda _portal: {}) -> None:
        self.store = store
        self.limits = limits  # a portal's pacing for the clients the proofs use (b24app.portal.limits_of)
        self.oauth = oauth
        self.config = config
        self._viewers: TLRUCache = TLRUCache(maxsize=VIEWER_CACHE_SIZE, ttu=_proof_expiry)
        self._lock = threading.Lock()
        self._proofs: dict[str, threading.BoundedSemaphore] = {}  # per installed portal

    # -- events and app-activity callbacks ------------------------------------------------------

    def call(self, payload: Mapping[str, Any], *, event: str | None) -> str:
        """The verified member_id of an event (``event`` = its name) or activity callback (None)."""
        auth = payload.get("auth")
        if not isinstance(auth, Mapping):
            raise CallRejected("нет блока auth")
        member_id, token = auth.get("member_id"), auth.get("application_token")
        if not _text(member_id) or not _text(token):
            raise CallRejected("нет member_id или application_token", member_id if _text(member_id) else None)
        if not MEMBER_ID.fullmatch(member_id) or len(token) > 256:
            raise CallRejected("некорректный member_id или application_token")
        if self.store.application_token_matches(member_id=member_id, application_token=token):
            self._heal_from_event(member_id, event, auth)
            return member_id
        if event in LIFECYCLE_WITH_NEW_TOKEN and self._new_token_proven(member_id, auth):
            self.store.set_application_token(member_id=member_id, application_token=token,
                                             app_version=_version(payload) if event == "ONAPPUPDATE" else None)
            self._heal_from_event(member_id, event, auth)
            return member_id
        raise CallRejected("application_token не совпадает с сохранённым для портала", member_id)

    def _heal_from_event(self, member_id: str, event: str | None, auth: Mapping[str, Any]) -> None:
        """A verified lifecycle event of an administrator restores a broken token pair."""
        if event not in LIFECYCLE_WITH_NEW_TOKEN:
            return
        installation = self._active(member_id)
        if installation is None or installation.tokens_broken_at is None:
            return
        access, refresh = auth.get("access_token"), auth.get("refresh_token")
        if _text(access) and _text(refresh):
            answers = self._ask(installation, access, {"admin": ("user.admin", {})})
            if answers is not None and answers.get("admin") is True:
                self._restore(installation, refresh)

    def _restore(self, installation: Installation, refresh_token: str) -> None:
        try:
            grant = self.oauth.refresh(refresh_token)
        except B24Error as exc:
            log.warning("restoring the tokens of %s failed: %s", installation.domain, type(exc).__name__)
            return
        if grant.member_id == installation.member_id:
            self.store.restore_tokens(member_id=installation.member_id, tokens=grant.tokens)
            log.info("portal %s: token pair restored by an administrator", installation.domain)

    def _new_token_proven(self, member_id: str, auth: Mapping[str, Any]) -> bool:
        installation = self._active(member_id)
        access_token = auth.get("access_token")
        if installation is None or not _text(access_token):
            return False
        answers = self._ask(installation, access_token, {"app": ("app.info", {}), "admin": ("user.admin", {})})
        return answers is not None and self._ours(answers.get("app")) and answers.get("admin") is True

    # -- the install POST ----------------------------------------------------------------------

    def install(self, form: Mapping[str, Any]) -> ProvenInstall:
        """Exchange the form's refresh token: only our app's tokens pass, and the answer names the portal."""
        grant = self.oauth.refresh(form["REFRESH_ID"])
        if grant.member_id != form["member_id"] or urlparse(grant.client_endpoint).netloc != form["DOMAIN"]:
            raise InstallRefused("Ключи установки выданы другому порталу")
        host = urlparse(grant.client_endpoint).netloc
        if not PORTAL_HOST.fullmatch(host):
            raise InstallRefused("Сервер авторизации вернул некорректный адрес портала")
        allowed = self.config.allowed_domains
        if allowed and host not in allowed and host.split(":")[0] not in allowed:
            raise InstallRefused(f"Портал {host} не указан в app.allowed_domains")
        known = self.store.find(member_id=grant.member_id)
        if known and known.status != "uninstalled" and known.domain != host:
            raise InstallRefused("Этот портал уже установлен с другим адресом; удалите приложение и установите снова")
        return ProvenInstall(grant, host)

    # -- the frame POST ------------------------------------------------------------------------

    def viewer(self, form: Mapping[str, Any]) -> Viewer | None:
        """The portal user whose AUTH_ID opened the page, or None when it cannot be proven."""
        member_id, auth_id = form.get("member_id"), form.get("AUTH_ID")
        if not _text(member_id) or not _text(auth_id) or not MEMBER_ID.fullmatch(member_id) or len(auth_id) > 512:
            return None
        key = (member_id, hashlib.sha256(auth_id.encode()).hexdigest())
        with self._lock:
            cached = self._viewers.get(key)
        if cached is not None:
            return cached[0]
        installation = self._active(member_id)
        if installation is None:
            return None
        viewer = self._prove_viewer(installation, auth_id)
        if viewer is None:
            return None
        with self._lock:
            self._viewers[key] = (viewer, time.monotonic() + _token_life(form))
        if viewer.is_admin and installation.tokens_broken_at is not None and _text(form.get("REFRESH_ID")):
            self._restore(installation, form["REFRESH_ID"])
        return viewer

    def _prove_viewer(self, installation: Installation, auth_id: str) -> Viewer | None:
        answers = self._ask(installation, auth_id, {"app": ("app.info", {}), "user": ("user.current", {}),
                                                     "admin": ("user.admin", {})})
        if answers is None or not self._ours(answers.get("app")):
            return None
        user = answers.get("user")
        if not isinstance(user, Mapping) or not str(user.get("ID", "")).isdigit():
            return None
        name = " ".join(str(user.get(k) or "") for k in ("NAME", "LAST_NAME")).strip()
        return Viewer(installation.member_id, int(user["ID"]), answers.get("admin") is True, name)

    # -- shared -------------------------------------------------------------------------------

    def _active(self, member_id: str) -> Installation | None:
        installation = self.store.find(member_id=member_id)
        return None if installation is None or installation.status == "uninstalled" else installation

    def _ours(self, app_info: Any) -> bool:
        """``app.info`` answered for our application (its CODE is our client_id)."""
        return isinstance(app_info, Mapping) and str(app_info.get("CODE", "")) == self.config.client_id

    def _ask(self, installation: Installation, token: str, commands: Mapping[str, tuple[str, dict]]) -> dict | None:
        """Run ``commands`` on the stored portal with a one-off token; None when the portal refuses it.

        At most ``PROOFS_IN_FLIGHT`` run per portal: a flood of forged tokens gets ProofBusy at once
        instead of tying up web workers with calls to the portal.
        """
        slots = self._slots(installation.member_id)
        if not slots.acquire(blocking=False):
            raise ProofBusy(installation.member_id)
        try:
            outcome = self._batch(installation, token, commands)
        except B24Error as exc:
            log.warning("token proof on %s failed: %s", installation.domain, type(exc).__name__)
            return None
        finally:
            slots.release()
        if outcome.errors or outcome.unknown:
            return None
        return outcome.results

    def _batch(self, installation: Installation, token: str, commands: Mapping[str, tuple[str, dict]]) -> Any:
        """One batch with the one-off token; asked once more when the portal's request bucket was full.

        The bucket is the portal's, shared by every application on it (REST docs: limits.md), so our
        own pacing cannot rule out QUERY_LIMIT_EXCEEDED: the second request waits until the portal has
        drained one (the pacer saturated) rather than refusing the viewer. Nothing else is repeated.
        """
        with B24Client(installation.client_endpoint, tokens=OneOffToken(token), max_attempts=1,
                       timeout=PROOF_TIMEOUT, **self.limits(installation.member_id)) as client:
            try:
                return client.batch(commands)
            except B24QueryLimitExceeded:
                client.pacer.saturate()
                return client.batch(commands)

    def _slots(self, member_id: str) -> threading.BoundedSemaphore:
        with self._lock:
            return self._proofs.setdefault(member_id, threading.BoundedSemaphore(PROOFS_IN_FLIGHT))


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _version(payload: Mapping[str, Any]) -> int | None:
    data = payload.get("data")
    version = data.get("VERSION") if isinstance(data, Mapping) else None
    return int(version) if isinstance(version, str) and version.isdigit() else None


def _token_life(form: Mapping[str, Any]) -> float:
    """Seconds the viewer's token stays valid (AUTH_EXPIRES), at most an hour."""
    raw = str(form.get("AUTH_EXPIRES") or "")
    return min(float(raw), VIEWER_PROOF_MAX_S) if raw.isdigit() else 60.0


def _proof_expiry(_key: Any, value: tuple[Viewer, float], now: float) -> float:
    return value[1]


def init_app(app: Any, store: InstallationStore, oauth: OAuthServer, config: Config,
             limits: Callable[[str], Mapping[str, Any]]) -> None:
    app.extensions["b24app.verifier"] = Verifier(store, oauth, config, limits)


def get_verifier(app: Any) -> Verifier:
    return app.extensions["b24app.verifier"]
