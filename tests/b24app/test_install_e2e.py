"""Install, token rotation, update and uninstall against the Bitrix24 emulator over HTTP."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from b24app.bitrix.errors import B24AuthFatal
from b24app.bitrix.tokens import EXPIRY_MARGIN_S, REFRESH_LEASE_S
from b24app import inbox
from b24app.db import get_db
from b24app.models import PortalInstallation, utcnow
from b24app.portal import client_for, get_store
from tests.support import EmulatedInstall


@pytest.fixture
def setup(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    installed = EmulatedInstall(tmp_path, database_url)
    yield installed
    installed.stop()


def test_install_as_a_portal_does_it_stores_encrypted_tokens(setup: EmulatedInstall) -> None:
    answer = setup.install()
    assert answer["status"] == 200 and answer["installed"] is True
    assert "BX24.installFinish()" in answer["body"]
    setup.drain()
    installation = get_store(setup.app).find(member_id=setup.member_id)
    assert installation is not None and installation.status == "installed"
    assert installation.admin_user_id == 1
    bound = client_for(setup.app).call("event.get", {}).result
    events = {b["event"].upper() for b in bound}
    assert {"ONAPPINSTALL", "ONAPPUPDATE", "ONAPPUNINSTALL"} <= events
    assert all(b["handler"] == f"{setup.public_url}/b24/events" for b in bound)
    for secret in (installation.access_token, installation.refresh_token):
        assert secret.encode() not in _stored_bytes(setup)


def _stored_bytes(setup: EmulatedInstall) -> bytes:
    """Everything the database holds: the SQLite files, or every portal row as text on PostgreSQL."""
    db = get_db(setup.app)
    if db.url.startswith("sqlite"):
        path = Path(db.url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM portal_installations")).all()
    return repr(rows).encode()


def test_expired_token_is_refreshed_once_and_rotation_persisted(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    before = get_store(setup.app).find(member_id=setup.member_id)
    setup.hook("tokens/expire", {})
    me = client_for(setup.app).call("profile", {}).result
    assert str(me["ID"]) == "1"
    after = get_store(setup.app).find(member_id=setup.member_id)
    assert after.token_generation == before.token_generation + 1
    assert after.refresh_token != before.refresh_token and after.access_token != before.access_token
    # the consumed refresh token is dead: the emulator says invalid_grant, as Bitrix24 would
    reused = requests.post(f"{setup.portal.oauth_url}/oauth/token/", data={
        "grant_type": "refresh_token", "client_id": setup.client_id, "client_secret": setup.client_secret,
        "refresh_token": before.refresh_token}, timeout=10)
    assert reused.json()["error"] == "invalid_grant"
    # and the stored one still works for the next refresh
    setup.hook("tokens/expire", {})
    client_for(setup.app).call("profile", {})
    assert get_store(setup.app).find(member_id=setup.member_id).token_generation == after.token_generation + 1


def test_install_by_a_non_admin_is_refused_and_leaves_nothing(setup: EmulatedInstall) -> None:
    user = setup.hook("users", {"NAME": "Иван", "LAST_NAME": "Петров", "EMAIL": "ivan@example.ru"})
    answer = setup.install(user_id=int(user["ID"]))
    assert answer["status"] == 400 and answer["installed"] is False
    assert "администратор" in answer["body"]
    assert get_store(setup.app).find(member_id=setup.member_id) is None


def test_failed_install_step_undoes_registered_handlers(setup: EmulatedInstall) -> None:
    setup.hook("faults", {"method": "placement.bind", "status": 500, "kind": "error", "count": 1})
    answer = setup.install()
    assert answer["installed"] is False and answer["status"] == 502
    assert "Не удалось выполнить установку" in answer["body"]
    setup.hook("faults", method="DELETE")
    assert get_store(setup.app).find(member_id=setup.member_id) is None
    state = setup.hook("state", method="GET")
    assert state["events"]["bindings"] == {}
    assert not state["tables"].get("placements")


def test_update_rebinds_handlers_and_rotates_application_token(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    setup.hook(f"apps/{setup.client_id}/update", {"version": 2})
    setup.drain()
    installation = get_store(setup.app).find(member_id=setup.member_id)
    assert installation.app_version == 2
    events = {b["event"].upper() for b in client_for(setup.app).call("event.get", {}).result}
    assert {"ONAPPUPDATE", "ONAPPUNINSTALL"} <= events


@pytest.mark.parametrize("clean", [False, True])
def test_uninstall_is_verified_and_forgets_tokens(setup: EmulatedInstall, clean: bool) -> None:
    setup.install()
    setup.drain()
    setup.hook(f"apps/{setup.client_id}/uninstall", {"clean": clean})
    setup.drain()
    installation = get_store(setup.app).find(member_id=setup.member_id)
    if clean:
        assert installation is None
    else:
        assert installation.status == "uninstalled" and installation.access_token is None


def test_app_page_opens_only_for_the_portal_that_installed_it(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    viewer = setup.hook("tokens", {"client_id": setup.client_id, "user_id": 1})
    page = f"{setup.public_url}/b24/app"
    opened = requests.post(page, data={"member_id": setup.member_id, "AUTH_ID": viewer["access_token"],
                                       "PLACEMENT": "DEFAULT"}, timeout=10)
    assert opened.status_code == 200 and opened.headers["Content-Security-Policy"].startswith("frame-ancestors ")
    for forged in ({"member_id": setup.member_id, "AUTH_ID": "stolen"},
                   {"member_id": setup.member_id, "APPLICATION_TOKEN": "guess"},
                   {"member_id": "another-portal", "AUTH_ID": viewer["access_token"]}, {}):
        response = requests.post(page, data=forged, timeout=10)
        assert response.status_code == 401 and "Откройте приложение" in response.text


@pytest.mark.parametrize("change", [
    {"REFRESH_ID": "made-up-refresh-token"},  # not issued to our app: the OAuth server says invalid_grant
    {"member_id": "another-portal-member-id"},  # tokens of this portal presented as another one's
    {"DOMAIN": "evil.example\\@127.0.0.1"},  # a host a URL parser could bend
    {"DOMAIN": "[bad"},
    {"AUTH_EXPIRES[]": "1"},
])
def test_forged_install_posts_are_refused_and_store_nothing(setup: EmulatedInstall, change: dict) -> None:
    response = _post_install_form(setup, change)
    assert response.status_code in (400, 502)
    assert "Установка не завершена" in response.text
    assert get_store(setup.app).find(member_id=setup.member_id) is None
    assert get_store(setup.app).find(member_id="another-portal-member-id") is None
    assert setup.hook("state", method="GET")["events"]["bindings"] == {}


def _post_install_form(setup: EmulatedInstall, change: dict) -> requests.Response:
    """POST the install form as the portal would, with a genuine admin token pair and ``change``."""
    genuine = setup.hook("tokens", {"client_id": setup.client_id, "user_id": 1})
    form = {"AUTH_ID": genuine["access_token"], "AUTH_EXPIRES": "3600", "REFRESH_ID": genuine["refresh_token"],
            "member_id": setup.member_id, "status": "L", "PLACEMENT": "DEFAULT",
            "DOMAIN": f"127.0.0.1:{setup.portal.url.rsplit(':', 1)[1]}", **change}
    domain = form.pop("DOMAIN")
    return requests.post(f"{setup.public_url}/b24/install", params={"DOMAIN": domain, "PROTOCOL": "0"},
                         data=form, timeout=30)


def test_installation_waits_for_install_finish(setup: EmulatedInstall) -> None:
    """Until the page's BX24.installFinish() brings ONAPPINSTALL, the portal is not used."""
    response = _post_install_form(setup, {})
    assert response.status_code == 200 and "BX24.installFinish()" in response.text
    assert get_store(setup.app).find(member_id=setup.member_id).status == "installing"
    with pytest.raises(LookupError):
        client_for(setup.app)
    setup.hook(f"apps/{setup.client_id}/install-finish")
    setup.drain()
    assert get_store(setup.app).find(member_id=setup.member_id).status == "installed"


def test_a_token_about_to_expire_is_refreshed_before_it_is_used(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    before = get_store(setup.app).find(member_id=setup.member_id)
    almost = utcnow() + timedelta(seconds=EXPIRY_MARGIN_S / 2)
    with get_db(setup.app).session() as session:
        session.execute(sa.update(PortalInstallation).where(PortalInstallation.member_id == setup.member_id)
                        .values(expires_at=almost))
    assert str(client_for(setup.app).call("profile", {}).result["ID"]) == "1"
    after = get_store(setup.app).find(member_id=setup.member_id)
    assert after.token_generation == before.token_generation + 1 and after.expires_at > almost
    client_for(setup.app).call("profile", {})  # a fresh token is used as it is
    assert get_store(setup.app).find(member_id=setup.member_id).token_generation == after.token_generation


def _second_app_token(setup: EmulatedInstall, user_id: int = 1) -> str:
    """An access token of another application installed on the same portal (an admin's, by default)."""
    other = setup.hook("apps", {"handler_url": "http://127.0.0.1:9/app", "install_url": "http://127.0.0.1:9/install",
                                "scopes": EmulatedInstall.SCOPES})
    setup.hook(f"apps/{other['client_id']}/install-finish")
    return setup.hook("tokens", {"client_id": other["client_id"], "user_id": user_id})["access_token"]


def test_frame_post_with_another_apps_token_is_refused(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    page = f"{setup.public_url}/b24/app"
    foreign = _second_app_token(setup)
    refused = requests.post(page, data={"member_id": setup.member_id, "AUTH_ID": foreign, "PLACEMENT": "DEFAULT"},
                            timeout=10)
    assert refused.status_code == 401 and "установлено" not in refused.text


def test_app_update_with_another_apps_admin_token_does_not_take_the_event_channel(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    foreign = _second_app_token(setup)
    forged = {"event": "ONAPPUPDATE", "data[VERSION]": "9", "ts": "1", "auth[member_id]": setup.member_id,
              "auth[application_token]": "attacker-chosen", "auth[access_token]": foreign,
              "auth[domain]": setup.portal.url.split("//")[1]}
    answer = requests.post(f"{setup.public_url}/b24/events", data=forged, timeout=10)
    assert answer.status_code == 401
    followup = {**forged, "event": "ONUSERADD", "data[FIELDS][ID]": "5"}
    assert requests.post(f"{setup.public_url}/b24/events", data=followup, timeout=10).status_code == 401
    assert get_store(setup.app).find(member_id=setup.member_id).app_version == 1


def _lose_the_pair(setup: EmulatedInstall) -> None:
    """What a process killed right after the OAuth server rotated the pair leaves: a consumed refresh token."""
    stored = get_store(setup.app).find(member_id=setup.member_id)
    answer = requests.post(setup.oauth_url, data={
        "grant_type": "refresh_token", "client_id": setup.client_id, "client_secret": setup.client_secret,
        "refresh_token": stored.refresh_token}, timeout=10)
    assert answer.status_code == 200
    setup.hook("tokens/expire", {})


def _open_app(setup: EmulatedInstall, user_id: int) -> requests.Response:
    viewer = setup.hook("tokens", {"client_id": setup.client_id, "user_id": user_id})
    return requests.post(f"{setup.public_url}/b24/app", data={
        "member_id": setup.member_id, "AUTH_ID": viewer["access_token"], "REFRESH_ID": viewer["refresh_token"],
        "PLACEMENT": "DEFAULT"}, timeout=10)


def test_a_lost_token_pair_is_restored_by_an_admin_opening_the_app(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    _lose_the_pair(setup)
    with pytest.raises(B24AuthFatal):
        client_for(setup.app).call("profile", {})
    assert get_store(setup.app).find(member_id=setup.member_id).tokens_broken_at is not None
    employee = setup.hook("users", {"NAME": "Иван", "LAST_NAME": "Сотрудников", "EMAIL": "i@example.ru"})["ID"]
    for user_id, healed in ((employee, False), (1, True)):
        assert _open_app(setup, user_id).status_code == 200
        assert (get_store(setup.app).find(member_id=setup.member_id).tokens_broken_at is None) is healed
    assert str(client_for(setup.app).call("profile", {}).result["ID"]) == "1"


def test_work_waiting_on_a_lost_token_pair_goes_on_once_it_is_restored(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    _lose_the_pair(setup)
    setup.hook(f"apps/{setup.client_id}/update", {"version": 2})
    setup.hook("events/flush")
    setup.worker.run_once()  # re-registering the handlers fails: the stored pair is dead
    failing = [i for i in inbox.list_items(get_db(setup.app)) if i.name == "ONAPPUPDATE"]
    assert failing[0].status == "pending" and "B24AuthFatal" in failing[0].last_error
    _open_app(setup, 1)
    setup.drain()
    events = {b["event"].upper() for b in client_for(setup.app).call("event.get", {}).result}
    assert {"ONAPPUPDATE", "ONAPPUNINSTALL"} <= events


def test_a_dead_refresh_lease_holds_the_others_only_until_it_runs_out(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    store = get_store(setup.app)
    assert store.try_acquire_refresh_lease(member_id=setup.member_id, holder="dead-process", seconds=1)
    setup.hook("tokens/expire", {})
    assert str(client_for(setup.app).call("profile", {}).result["ID"]) == "1"
    assert REFRESH_LEASE_S <= 30  # what a dead holder costs the other processes at most


def test_an_uninstall_forged_with_a_leaked_application_token_is_ignored(setup: EmulatedInstall) -> None:
    """The portal shows the application_token to browsers in some frame POSTs: a user could send it back."""
    setup.install()
    setup.drain()
    leaked = setup.application_token()
    forged = {"event": "ONAPPUNINSTALL", "data[CLEAN]": "1", "ts": "1", "auth[member_id]": setup.member_id,
              "auth[application_token]": leaked}
    assert requests.post(f"{setup.public_url}/b24/events", data=forged, timeout=10).status_code == 200
    setup.drain()
    installation = get_store(setup.app).find(member_id=setup.member_id)
    assert installation is not None and installation.status == "installed" and installation.access_token
    assert str(client_for(setup.app).call("profile", {}).result["ID"]) == "1"
