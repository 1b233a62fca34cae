"""Acting as the viewer: what only the user may do on the portal (complete their own business-process
task) is done with the AUTH_ID the page gets from the portal, proven to be the session's user."""
from __future__ import annotations

from flask import Flask

from b24app.bitrix import B24Client
from b24app.portal import get_store, limits_of
from b24app.verify import OneOffToken, Viewer, get_verifier


def client_as_viewer(app: Flask, proven: Viewer, auth_id: object) -> B24Client | None:
    """A REST client with the viewer's own token; None when the token does not prove that same user."""
    token = str(auth_id or "")
    assignee = get_verifier(app).viewer({"member_id": proven.member_id, "AUTH_ID": token}) if token else None
    if assignee is None or assignee.user_id != proven.user_id:
        return None
    installation = get_store(app).find(member_id=proven.member_id)
    assert installation is not None, "a proven viewer's portal is installed"
    return B24Client(installation.client_endpoint, tokens=OneOffToken(token), **limits_of(app, proven.member_id))
