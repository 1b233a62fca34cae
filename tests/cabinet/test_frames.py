"""Frame sessions (b24app.frames): the proof of a frame POST, its cache, session tokens, renewal."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from flask import Blueprint, jsonify

from b24app.frames import FrameRefused, FrameSessions, current_viewer, get_sessions, viewer_required
from b24app.tenancy import current_portal
from b24app.verify import Viewer
from tests.support import EmulatedInstall


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- pure logic -----------------------------------------------------------------------------------

def test_a_frame_the_verifier_does_not_prove_is_refused() -> None:
    sessions = FrameSessions("secret", lambda form: None)
    with pytest.raises(FrameRefused):
        sessions.viewer_of({"member_id": "m1", "AUTH_ID": "t1"})


@pytest.mark.parametrize("form", [{}, {"member_id": "m1"}, {"AUTH_ID": "t"}, {"member_id": "", "AUTH_ID": "t"},
                                  {"member_id": ["m1"], "AUTH_ID": "t"}])
def test_a_form_without_member_id_and_auth_id_is_refused_without_asking_anybody(form: dict) -> None:
    def prove(form):  # type: ignore[no-untyped-def]
        raise AssertionError("must not be asked")

    with pytest.raises(FrameRefused):
        FrameSessions("secret", prove).viewer_of(form)


def test_session_tokens_expire_and_cannot_be_forged() -> None:
    clock = Clock()
    sessions = FrameSessions("secret", lambda form: Viewer("m", 1, False), clock=clock, session_ttl_s=600)
    viewer = Viewer("m1", 7, True, "Иван Петров")
    token = sessions.issue(viewer)
    assert sessions.read(token) == viewer
    assert FrameSessions("other secret", lambda form: viewer).read(token) is None
    assert sessions.read(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
    assert sessions.read("garbage") is None
    clock.now += 599
    assert sessions.read(token) == viewer
    clock.now += 1
    assert sessions.read(token) is None


def test_session_tokens_issued_in_one_process_are_read_in_another() -> None:
    """Tokens are signed with SECRET_KEY only: any web worker reads them."""
    viewer = Viewer("m1", 7, False)
    token = FrameSessions("secret", lambda form: viewer).issue(viewer)
    assert FrameSessions("secret", lambda form: viewer).read(token) == viewer


# -- against the emulated portal ------------------------------------------------------------------

probe = Blueprint("probe", __name__)


@probe.get("/probe/me")
@viewer_required
def me():  # type: ignore[no-untyped-def]
    viewer = current_viewer()
    return jsonify({"user_id": viewer.user_id, "is_admin": viewer.is_admin, "member_id": viewer.member_id,
                    "portal_in_scope": current_portal()})


@pytest.fixture
def setup(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    installed = EmulatedInstall(tmp_path, database_url)
    installed.app.register_blueprint(probe)
    installed.install()
    installed.drain()
    yield installed
    installed.stop()


def _viewer_token(setup: EmulatedInstall, user_id: int, client_id: str | None = None) -> str:
    return setup.hook("tokens", {"client_id": client_id or setup.client_id, "user_id": user_id})["access_token"]


def _open(setup: EmulatedInstall, **form: str) -> requests.Response:
    return requests.post(f"{setup.public_url}/b24/app", data={"PLACEMENT": "DEFAULT", **form}, timeout=20)


def test_frame_post_is_proven_by_the_stored_portal_and_frames_only_there(setup: EmulatedInstall) -> None:
    page = _open(setup, member_id=setup.member_id, AUTH_ID=_viewer_token(setup, 1), AUTH_EXPIRES="3600")
    assert page.status_code == 200
    domain = setup.portal.url.removeprefix("http://")
    assert page.headers["Content-Security-Policy"] == f"frame-ancestors https://{domain} http://{domain}"
    assert "X-Frame-Options" not in page.headers and "Set-Cookie" not in page.headers


def test_forged_frame_posts_are_refused(setup: EmulatedInstall) -> None:
    employee = setup.hook("users", {"NAME": "Анна", "LAST_NAME": "Иванова", "EMAIL": "anna@example.ru"})
    other_app = setup.hook("apps", {"handler_url": "http://127.0.0.1:1/app", "install_url": "http://127.0.0.1:1/i",
                                    "scopes": ["user"]})
    genuine = _viewer_token(setup, int(employee["ID"]))
    for forged in ({"member_id": setup.member_id, "AUTH_ID": "stolen"},
                   {"member_id": "another-portal", "AUTH_ID": genuine},
                   {"member_id": setup.member_id, "AUTH_ID": _viewer_token(setup, 1, other_app["client_id"])},
                   {"member_id": setup.member_id, "APPLICATION_TOKEN": "guess", "DOMAIN": "evil.example"}, {}):
        response = _open(setup, **forged)
        assert response.status_code == 401 and "Откройте приложение" in response.text
        assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_the_proof_is_cached_for_the_token_life(setup: EmulatedInstall) -> None:
    token = _viewer_token(setup, 1)
    _open(setup, member_id=setup.member_id, AUTH_ID=token, AUTH_EXPIRES="3600")
    setup.hook("counters/reset")
    for _ in range(3):
        assert _open(setup, member_id=setup.member_id, AUTH_ID=token, AUTH_EXPIRES="3600").status_code == 200
    assert setup.hook("counters", method="GET")["requests"] == 0


def test_api_takes_the_session_token_from_the_header_only(setup: EmulatedInstall) -> None:
    employee = setup.hook("users", {"NAME": "Анна", "LAST_NAME": "Иванова", "EMAIL": "anna@example.ru"})
    sessions = get_sessions(setup.app)
    viewer = sessions.viewer_of({"member_id": setup.member_id, "AUTH_ID": _viewer_token(setup, int(employee["ID"]))})
    assert viewer == Viewer(setup.member_id, int(employee["ID"]), False, "Анна Иванова")
    token = sessions.issue(viewer)
    url = f"{setup.public_url}/probe/me"
    answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["user_id"] == int(employee["ID"])
    assert answer.json()["is_admin"] is False
    assert answer.json()["portal_in_scope"] == setup.member_id  # its own sections of app.yaml, its client
    # a cookie or a query parameter carrying the same token is not a session (CSRF-safe by construction)
    for attempt in ({"cookies": {"session": token}}, {"params": {"token": token}}, {}):
        refused = requests.get(url, timeout=10, **attempt)
        assert refused.status_code == 401 and refused.json()["error"] == "session_expired"
        assert token not in refused.text


def test_the_page_renews_its_session_as_the_same_user_only(setup: EmulatedInstall) -> None:
    renew = f"{setup.public_url}/b24/frame/renew"
    employee = int(setup.hook("users", {"NAME": "Анна", "LAST_NAME": "Иванова", "EMAIL": "anna@example.ru"})["ID"])
    sessions = get_sessions(setup.app)
    started = sessions.issue(sessions.viewer_of({"member_id": setup.member_id, "AUTH_ID": _viewer_token(setup, employee)}))
    sessions.clock = lambda: time.time() + 3600  # the page was left open: its session token has expired
    assert sessions.read(started) is None
    answer = requests.post(renew, json={"session": started, "auth_id": _viewer_token(setup, employee)}, timeout=10)
    assert answer.status_code == 200 and answer.json()["expires_in"] == 600
    assert "Set-Cookie" not in answer.headers
    me = requests.get(f"{setup.public_url}/probe/me", headers={"Authorization": f"Bearer {answer.json()['token']}"},
                      timeout=10)
    assert me.json() == {"user_id": employee, "is_admin": False, "member_id": setup.member_id,
                         "portal_in_scope": setup.member_id}
    for body in ({"session": started, "auth_id": _viewer_token(setup, 1)},  # another user's token: no switch
                 {"session": started, "auth_id": "stolen"}, {"session": "forged", "auth_id": _viewer_token(setup, 1)},
                 {"auth_id": _viewer_token(setup, employee)}, ["x"]):
        refused = requests.post(renew, json=body, timeout=10)
        assert refused.status_code in (400, 401) and "token" not in refused.json()
    sessions.clock = lambda: time.time() + 13 * 3600  # past the grace: open the app again
    late = requests.post(renew, json={"session": started, "auth_id": _viewer_token(setup, employee)}, timeout=10)
    assert late.status_code == 401
