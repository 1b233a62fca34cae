"""The app's page inside the portal's iframe (every placement: DEFAULT, REST_APP_URI, tabs).

The frame POST is proven by :mod:`b24app.frames` (the verifier); the page itself is the one a
feature set as the frame home (the cabinet), or this module's status page when no feature did.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue

from b24app.formparse import MalformedBody, parse_request
from b24app.frames import FrameRefused, FrameSession, frame_response, get_sessions
from b24app.portal import get_store
from b24app.verify import ProofBusy

bp = Blueprint("pages", __name__, url_prefix="/b24")

HOME_KEY = "b24app.frame_home"

STATUS_TEXT = {
    "installing": "установка не завершена (откройте приложение администратором)",
    "installed": "установлено",
    "uninstalled": "удалено",
}

FrameHome = Callable[[FrameSession], ResponseReturnValue]


def set_frame_home(app: Flask, home: FrameHome) -> None:
    """The view that renders the app's page for a proven frame session (one per app)."""
    app.extensions[HOME_KEY] = home


@bp.route("/app", methods=["GET", "POST"])
def app_page():  # type: ignore[no-untyped-def]
    """The app's main page; Bitrix24 opens it with a POST carrying the viewer's tokens."""
    try:
        form = parse_request() if request.method == "POST" else {}
        session = get_sessions(current_app).open(form)
    except (MalformedBody, FrameRefused):
        return _message("Откройте приложение из меню Битрикс24.", 401)
    home = current_app.extensions.get(HOME_KEY)
    response = make_response(home(session) if home else _status_page(session))
    return frame_response(response, session.viewer.member_id)


def _status_page(session: FrameSession) -> str:
    installation = get_store(current_app).find(member_id=session.viewer.member_id)
    return render_template("app.html", installation=installation,
                           status_text=STATUS_TEXT.get(installation.status, installation.status) if installation else "")


def _message(text: str, status: int):  # type: ignore[no-untyped-def]
    return frame_response(make_response(render_template("app.html", installation=None, message=text), status), None)


@bp.errorhandler(ProofBusy)
def _busy(exc: ProofBusy):  # type: ignore[no-untyped-def]
    return _message("Портал занят, обновите страницу через минуту.", 503)
