"""/b24/events and /b24/activities: verification, malformed input, duplicates — over real HTTP."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from b24app import inbox
from service import create_app
from b24app.db import get_db
from b24app.models import utcnow
from b24app.portal import get_store
from b24app.store import NewInstallation, TokenSet
from tests.support import LiveServer, free_port, write_config

PORTALS = {"portal-a": "token-of-a-0123456789abcdef", "portal-b": "token-of-b-0123456789abcdef"}


@pytest.fixture
def live(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    port = free_port()
    config, _ = write_config(tmp_path, public_url=f"http://127.0.0.1:{port}", database_url=database_url)
    app = create_app(config)
    store = get_store(app)
    for member_id, token in PORTALS.items():
        store.save(NewInstallation(
            member_id=member_id, domain=f"{member_id}.bitrix24.ru", client_endpoint=f"https://{member_id}/rest/",
            server_endpoint=None, tokens=TokenSet("access", "refresh", utcnow() + timedelta(hours=1)),
            application_token=token, scopes=("user",), admin_user_id=1, app_version=1))
    server = LiveServer(app, port)
    yield server
    server.stop()
    get_db(app).dispose()


def _event(member_id: str = "portal-a", token: str | None = PORTALS["portal-a"], **extra: str) -> dict[str, str]:
    form = {"event": "ONUSERADD", "event_handler_id": "7", "data[FIELDS][ID]": "42", "ts": "1766047124",
            "auth[domain]": "portal-a.bitrix24.ru", "auth[member_id]": member_id,
            "auth[access_token]": "one-off-access-token"}
    if token is not None:
        form["auth[application_token]"] = token
    form.update(extra)
    return form


def _stored(live: LiveServer) -> list:
    return inbox.list_items(get_db(live.app))


def test_verified_event_is_stored_without_secrets(live: LiveServer) -> None:
    response = requests.post(f"{live.url}/b24/events", data=_event(), timeout=10)
    assert response.status_code == 200 and response.json()["result"] == "accepted"
    [item] = _stored(live)
    assert item.name == "ONUSERADD" and item.member_id == "portal-a"
    assert "one-off-access-token" not in item.payload and PORTALS["portal-a"] not in item.payload
    assert '"ID":"42"' in item.payload


@pytest.mark.parametrize("form", [
    _event(token="wrong-token"),
    _event(member_id="unknown-portal"),
    _event(token=None),
    _event(token=PORTALS["portal-b"]),  # the token of another portal
    {"event": "ONUSERADD", "data[FIELDS][ID]": "1"},  # no auth at all
])
def test_forged_calls_get_401_and_store_nothing(live: LiveServer, form: dict[str, str]) -> None:
    response = requests.post(f"{live.url}/b24/events", data=form, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_application_token"
    assert _stored(live) == []


def test_activity_call_is_verified_like_an_event(live: LiveServer) -> None:
    form = {"workflow_id": "wf1", "code": "zup_vacation_balance", "event_token": "wf1|A1|abc.def",
            "document_id[0]": "lists", "auth[member_id]": "portal-a", "auth[application_token]": "nope"}
    assert requests.post(f"{live.url}/b24/activities/zup_vacation_balance", data=form, timeout=10).status_code == 401
    form["auth[application_token]"] = PORTALS["portal-a"]
    assert requests.post(f"{live.url}/b24/activities/zup_vacation_balance", data=form, timeout=10).status_code == 200
    assert requests.post(f"{live.url}/b24/activities/other_code", data=form, timeout=10).status_code == 400
    [item] = _stored(live)
    assert item.kind == "activity" and item.name == "zup_vacation_balance"


@pytest.mark.parametrize("body,content_type", [
    (b"event=X&auth=1&auth[member_id]=portal-a", "application/x-www-form-urlencoded"),
    (b"\xff\xfe", "application/x-www-form-urlencoded"),
    (b"{not json", "application/json"),
    (b"<xml/>", "text/xml"),
    (urlencode({"auth[member_id]": "portal-a", "auth[application_token]": PORTALS["portal-a"]}).encode(),
     "application/x-www-form-urlencoded"),  # no event name
])
def test_malformed_bodies_get_400(live: LiveServer, body: bytes, content_type: str) -> None:
    response = requests.post(f"{live.url}/b24/events", data=body, headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert _stored(live) == []


def test_oversized_body_gets_413(live: LiveServer) -> None:
    form = _event(**{"data[FIELDS][BIG]": "x" * (1024 * 1024 + 10)})
    response = requests.post(f"{live.url}/b24/events", data=form, timeout=10)
    assert response.status_code == 413
    assert _stored(live) == []


def _chunks(total: int, size: int = 64 * 1024):  # type: ignore[no-untyped-def]
    yield b"event=ONUSERADD&data[X]="
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


def test_a_chunked_body_over_the_limit_is_refused_not_truncated(live: LiveServer) -> None:
    response = requests.post(f"{live.url}/b24/events", data=_chunks(1024 * 1024 + 1),
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert response.status_code == 413
    assert _stored(live) == []


@pytest.mark.parametrize("extra", [
    {"auth[member_id]": "m" * 65},
    {"auth[member_id]": "portal-a\n"},
    {"auth[application_token]": "t" * 300},
    {"data[FIELDS][NAME]": "A\x00B"},
])
def test_oversized_or_dirty_auth_gets_400_or_401_never_500(live: LiveServer, extra: dict[str, str]) -> None:
    form = {**_event(), **{k: v.encode().decode("unicode_escape") for k, v in extra.items()}}
    response = requests.post(f"{live.url}/b24/events", data=form, timeout=10)
    assert response.status_code in (400, 401)
    assert _stored(live) == []


def test_deep_json_gets_400(live: LiveServer) -> None:
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    response = requests.post(f"{live.url}/b24/events", data=body, headers={"Content-Type": "application/json"},
                             timeout=30)
    assert response.status_code in (400, 413)
    assert _stored(live) == []


def test_duplicate_deliveries_are_stored_once(live: LiveServer) -> None:
    answers = [requests.post(f"{live.url}/b24/events", data=_event(), timeout=10).json()["result"]
               for _ in range(3)]
    assert answers == ["accepted", "duplicate", "duplicate"]
    assert len(_stored(live)) == 1
    other = _event(ts="1766047125")
    assert requests.post(f"{live.url}/b24/events", data=other, timeout=10).json()["result"] == "accepted"
    assert len(_stored(live)) == 2


def test_processed_calls_are_purged_after_their_retention(live: LiveServer) -> None:
    from b24app.worker import get_executor

    requests.post(f"{live.url}/b24/events", data=_event(), timeout=10)
    requests.post(f"{live.url}/b24/events", data=_event(ts="2"), timeout=10)
    assert get_executor(live.app).run_once() == 2
    db = get_db(live.app)
    assert inbox.purge(db, older_than_days=1) == 0  # fresh items stay
    assert inbox.purge(db, older_than_days=0) == 2
    assert _stored(live) == []


def test_concurrent_arrivals_are_committed_together_and_each_exactly_once(live: LiveServer) -> None:
    import threading

    db = get_db(live.app)
    ids: list[int | None] = []
    lock = threading.Lock()

    def arrive(n: int) -> None:
        item_id = inbox.accept(db, member_id="portal-a", kind="event", name="ONUSERADD", dedupe_key=f"k{n % 150}",
                               payload={"n": n})
        with lock:
            ids.append(item_id)

    threads = [threading.Thread(target=lambda t=t: [arrive(t * 25 + i) for i in range(25)]) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [i for i in ids if i is not None]
    assert len(ids) == 200 and len(stored) == 150 and len(set(stored)) == 150  # 50 redeliveries: "duplicate"
    assert len(inbox.list_items(db, limit=1000)) == 150


def test_an_unavailable_inbox_answers_503_and_keeps_nothing(live: LiveServer) -> None:
    with get_db(live.app).engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE inbox_items RENAME TO inbox_items_away")
    try:
        response = requests.post(f"{live.url}/b24/events", data=_event(), timeout=10)
    finally:
        with get_db(live.app).engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE inbox_items_away RENAME TO inbox_items")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert _stored(live) == []


def test_a_failing_batch_fails_every_caller_and_the_next_batches_go_on(live: LiveServer) -> None:
    """Concurrent callers while the inbox cannot take rows all get InboxUnavailable (none waits for ever),
    and the callers after it are stored, each exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    db = get_db(live.app)

    def arrive(n: int) -> int | None | str:
        try:
            return inbox.accept(db, member_id="portal-a", kind="event", name="ONUSERADD", dedupe_key=f"f{n}",
                                payload={"n": n})
        except inbox.InboxUnavailable:
            return "unavailable"

    with db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE inbox_items RENAME TO inbox_items_away")
    try:
        with ThreadPoolExecutor(8) as pool:
            failed = list(pool.map(arrive, range(40), timeout=30))
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE inbox_items_away RENAME TO inbox_items")
    with ThreadPoolExecutor(8) as pool:
        stored = list(pool.map(arrive, range(40), timeout=30))
    assert failed == ["unavailable"] * 40
    assert all(isinstance(item_id, int) for item_id in stored) and len(set(stored)) == 40
    assert len(inbox.list_items(db, limit=100)) == 40


def test_the_intake_is_timed_and_other_requests_reach_flask(live: LiveServer) -> None:
    assert requests.post(f"{live.url}/b24/events", data=_event(), timeout=10).json()["result"] == "accepted"
    assert requests.get(f"{live.url}/b24/events", timeout=10).status_code in (404, 405)
    assert requests.post(f"{live.url}/b24/activities/a/b", data=_event(), timeout=10).status_code == 404
    metrics = requests.get(f"{live.url}/metrics", timeout=10)
    assert 'b24app_request_seconds_bucket{endpoint="b24_intake.events"' in metrics.text
    assert len(_stored(live)) == 1
