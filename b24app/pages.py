"""Pages shown inside the portal's iframe (placement DEFAULT and REST_APP_URI)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from b24app.formparse import MalformedBody, parse_request
from b24app.portal import get_store
from b24app.store import Installation
from b24app.verify import ProofBusy, get_verifier

bp = Blueprint("pages", __name__, url_prefix="/b24")

STATUS_TEXT = {
    "installing": "установка не завершена (откройте приложение администратором)",
    "installed": "установлено",
    "uninstalled": "удалено",
}


@bp.route("/app", methods=["GET", "POST"])
def app_page():  # type: ignore[no-untyped-def]
    """The app's main page; Bitrix24 opens it with a POST carrying the viewer's tokens."""
    try:
        form = parse_request() if request.method == "POST" else {}
    except MalformedBody:
        form = {}
    installation = _verified_installation(form)
    if installation is None:
        return render_template("app.html", installation=None,
                               message="Откройте приложение из меню Битрикс24."), 401
    return render_template("app.html", installation=installation,
                           status_text=STATUS_TEXT.get(installation.status, installation.status))


def _verified_installation(form: dict[str, Any]) -> Installation | None:
    """The installation whose user opened the page, proven by the viewer's AUTH_ID (the verifier)."""
    viewer = get_verifier(current_app).viewer(form)
    return None if viewer is None else get_store(current_app).find(member_id=viewer.member_id)


@bp.errorhandler(ProofBusy)
def _busy(exc: ProofBusy):  # type: ignore[no-untyped-def]
    return render_template("app.html", installation=None, message="Портал занят, обновите страницу через минуту."), 503
