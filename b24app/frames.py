"""Frame sessions: who is looking at the app's page inside the portal's iframe.

The portal opens the app with a POST into an iframe (AUTH_ID, REFRESH_ID, member_id, DOMAIN,
PLACEMENT, PLACEMENT_OPTIONS — b24restdocs `local-integrations/serverside-local-app-with-ui.md`).
Nothing in that form is trusted as such: the viewer is proven by the verifier
(:meth:`b24app.verify.Verifier.viewer`: the portal stored for ``member_id`` answers ``app.info``,
``user.current`` and ``user.admin`` for the viewer's AUTH_ID; the proof is cached for the token's
life), never by DOMAIN or a user id from the browser.

The page then carries a short-lived signed session token (not a cookie: browsers block cookies in
third-party iframes) and sends it back as ``Authorization: Bearer <token>``; before it runs out the
page posts a fresh AUTH_ID from ``BX24.getAuth()``/``refreshAuth()`` with its session token to
``/b24/frame/renew``, which proves it again and keeps the session to the same portal user.
Header-only authentication makes the API CSRF-safe by construction: a cross-site form or image
cannot set the header, and no cookie is ever read. Frame pages allow only the portal's origin as
``frame-ancestors``.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from itsdangerous import BadSignature, URLSafeSerializer

from b24app.portal import get_store
from b24app.tenancy import portal_scope
from b24app.verify import ProofBusy, Viewer, get_verifier

SESSION_TTL_S = 600  # the page renews its token well before this
RENEW_GRACE_S = 12 * 3600  # a page left open overnight may still renew (as the same viewer)
SESSION_SALT = "b24app.frame-session"
EXTRA_ANCESTORS_KEY = "B24APP_FRAME_ANCESTORS"  # more origins allowed to frame the pages (the emulator's)

bp = Blueprint("frames", __name__, url_prefix="/b24/frame")


class FrameRefused(Exception):
    """The frame POST does not prove a viewer; the message is shown to the user."""


ViewerProof = Callable[[Mapping[str, Any]], Viewer | None]
"""``prove(form) -> Viewer | None`` from a frame form (member_id, AUTH_ID): the verifier's ``viewer``."""


@dataclass(frozen=True)
class FrameSession:
    """What a proven frame POST gives the page."""

    viewer: Viewer
    token: str
    expires_in: int
    placement: str
    options: Mapping[str, Any] = field(default_factory=dict)


class FrameSessions:
    """Proves frame POSTs (through ``prove`` and the cache) and issues/reads session tokens."""

    def __init__(self, secret_key: str, prove: ViewerProof, *, clock: Callable[[], float] = time.time,
                 session_ttl_s: int = SESSION_TTL_S) -> None:
        self.prove = prove
        self.clock = clock
        self.session_ttl_s = session_ttl_s
        self._signer = URLSafeSerializer(secret_key, salt=SESSION_SALT)

    def viewer_of(self, form: Mapping[str, Any]) -> Viewer:
        """The viewer the stored portal proves for the form's AUTH_ID (the verifier caches the proof)."""
        if not _text(form, "member_id") or not _text(form, "AUTH_ID"):
            raise FrameRefused("Откройте приложение из Битрикс24: нет данных авторизации портала.")
        viewer = self.prove(form)
        if viewer is None:
            raise FrameRefused("Портал не подтвердил вход. Откройте приложение ещё раз.")
        return viewer

    def open(self, form: Mapping[str, Any]) -> FrameSession:
        """A session for a frame POST: the proven viewer, a token, the placement and its options."""
        viewer = self.viewer_of(form)
        return FrameSession(viewer, self.issue(viewer), self.session_ttl_s,
                            _text(form, "PLACEMENT") or "DEFAULT", placement_options(form.get("PLACEMENT_OPTIONS")))

    def issue(self, viewer: Viewer) -> str:
        payload = {"m": viewer.member_id, "u": viewer.user_id, "a": viewer.is_admin, "n": viewer.name,
                   "e": int(self.clock()) + self.session_ttl_s}
        return self._signer.dumps(payload)

    def read(self, token: str, *, grace_s: int = 0) -> Viewer | None:
        """The viewer of a valid token that has not expired (or expired less than ``grace_s`` ago)."""
        try:
            payload = self._signer.loads(token)
        except BadSignature:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("e"), int):
            return None
        if payload["e"] + grace_s <= self.clock():
            return None
        return Viewer(str(payload["m"]), int(payload["u"]), bool(payload["a"]), str(payload.get("n", "")))

    def renew(self, session_token: str, auth_id: str) -> Viewer:
        """The same viewer proven again with a fresh AUTH_ID; the page cannot become someone else."""
        before = self.read(session_token, grace_s=RENEW_GRACE_S)
        if before is None:
            raise FrameRefused("Сессия истекла: откройте приложение заново.")
        viewer = self.viewer_of({"member_id": before.member_id, "AUTH_ID": auth_id})
        if (viewer.member_id, viewer.user_id) != (before.member_id, before.user_id):
            raise FrameRefused("Ключ авторизации выдан другому пользователю.")
        return viewer


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def placement_options(raw: Any) -> dict[str, Any]:
    """PLACEMENT_OPTIONS, a JSON string (Bitrix24 REST docs: api-reference/widgets/_includes/widget_data.md),
    as a dict; anything that is not a JSON object gives an empty one."""
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- using sessions in views ----------------------------------------------------------------------

def get_sessions(app: Flask) -> FrameSessions:
    return app.extensions["b24app.frames"]


F = TypeVar("F", bound=Callable[..., Any])


def viewer_required(view: F) -> F:
    """A JSON view for the frame page: 401 unless the request carries a valid session token; the view runs
    in the viewer's portal scope (that portal's sections of app.yaml, its client)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        viewer = _bearer_viewer()
        if viewer is None:
            return _json_error(401, "session_expired", "Сессия истекла: обновите страницу приложения.")
        g.frame_viewer = viewer
        with portal_scope(viewer.member_id):
            return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def current_viewer() -> Viewer:
    """The viewer of the current request (inside a ``viewer_required`` view)."""
    return g.frame_viewer


def _bearer_viewer() -> Viewer | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return get_sessions(current_app).read(token.strip())


def _json_error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def frame_ancestors(member_id: str | None) -> str:
    """``frame-ancestors`` allowing the stored portal's origin only (plus configured extra origins)."""
    sources = list(current_app.config.get(EXTRA_ANCESTORS_KEY) or ())
    installation = get_store(current_app).find(member_id=member_id) if member_id else None
    if installation is not None:
        sources[:0] = [f"https://{installation.domain}", f"http://{installation.domain}"]
    return "frame-ancestors " + (" ".join(dict.fromkeys(sources)) or "'none'")


def frame_response(response: Response, member_id: str | None) -> Response:
    """Headers of a page shown in the portal's frame: CSP frame-ancestors, no caching."""
    response.headers["Content-Security-Policy"] = frame_ancestors(member_id)
    response.headers.pop("X-Frame-Options", None)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/renew")
def renew():  # type: ignore[no-untyped-def]
    """A fresh session token for a fresh AUTH_ID the page got from BX24 (getAuth/refreshAuth).

    The page sends its current (possibly just expired) session token with it: the renewed session
    belongs to the same portal user or is refused.
    """
    body = request.get_json(silent=True)
    session, auth_id = (body.get("session"), body.get("auth_id")) if isinstance(body, dict) else (None, None)
    if not isinstance(session, str) or not isinstance(auth_id, str) or not session or not auth_id:
        return _json_error(400, "bad_request", "Ожидается JSON {session, auth_id}.")
    sessions = get_sessions(current_app)
    try:
        viewer = sessions.renew(session, auth_id)
    except FrameRefused as exc:
        return _json_error(401, "not_proven", str(exc))
    except ProofBusy:
        return _json_error(503, "busy", "Портал занят, повторите через минуту.")
    response = jsonify({"token": sessions.issue(viewer), "expires_in": sessions.session_ttl_s})
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Frame sessions signed with SECRET_KEY, viewers proven by the app's verifier."""
    app.extensions["b24app.frames"] = FrameSessions(app.config["SECRET_KEY"], get_verifier(app).viewer)
