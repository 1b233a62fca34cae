"""``/healthz`` and ``/metrics``: is the service well, and what is it doing.

``/healthz`` answers JSON: the database, every installed portal (``app.info`` with the app's own
token) and every check an enabled feature declares (``Feature.health``: each 1C connection). It is
200 while the database answers — a portal or 1C that does not is reported as ``degraded`` — and
503 when the database does not. Results are kept ``HEALTH_CACHE_S`` seconds, so probes cost the
portals and 1C nothing more.

With the celery engine the report also holds ``broker`` (RabbitMQ) and ``redis`` (the shared
limits); either down makes the service ``degraded``, not down: calls are still accepted durably.

``/metrics`` is the Prometheus text format of ``b24app.metrics`` plus the inbox's depth and age and
each portal's queue depth (``b24app_portal_queue_items``), read from the database at scrape time.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from b24app.bitrix.errors import B24Error
from b24app.db import get_db
from b24app.features import get_features
from b24app.inbox import depth_by_portal
from b24app.metrics import PAGE_SECONDS
from b24app.models import InboxItem, utcnow
from b24app.portal import client_for, get_config, get_store, redis_link

bp = Blueprint("observability", __name__)

HEALTH_CACHE_S = 15.0
OK = "ok"


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    report = _cached_health(current_app._get_current_object())  # type: ignore[attr-defined]
    return jsonify(report), 200 if report["status"] != "down" else 503


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(_inbox_registry(current_app._get_current_object()))  # type: ignore[attr-defined]
    return Response(body, content_type=CONTENT_TYPE_LATEST)


# -- health ------------------------------------------------------------------------------------

_health_lock = threading.Lock()


def _cached_health(app: Flask) -> dict[str, Any]:
    with _health_lock:
        cached = app.extensions.get("b24app.health")
        if cached and cached[0] > time.monotonic():
            return cached[1]
    report = _health(app)
    with _health_lock:
        app.extensions["b24app.health"] = (time.monotonic() + HEALTH_CACHE_S, report)
    return report


def _health(app: Flask) -> dict[str, Any]:
    checks: dict[str, Any] = {"database": _database(app)}
    if checks["database"] != OK:
        return {"status": "down", "checks": checks}
    checks.update(_cluster(app))
    checks["portals"] = {item.domain: _portal(app, item.member_id) for item in get_store(app).all()
                         if item.status == "installed"}
    for feature in get_features(app).features:
        if feature.health is not None:
            checks[feature.name] = feature.health(app)
    healthy = all(value == OK for value in _leaves(checks))
    return {"status": OK if healthy else "degraded", "checks": checks}


def _leaves(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    else:
        yield node


def _database(app: Flask) -> str:
    try:
        with get_db(app).read_engine.connect() as connection:
            connection.execute(select(InboxItem.id).limit(1))  # reachable, and the schema is in place
    except Exception as exc:  # any failure to reach the database is the report itself
        return f"нет связи: {type(exc).__name__}"
    return OK


def _cluster(app: Flask) -> dict[str, str]:
    """The broker (celery engine) and Redis (shared limits), when the service uses them."""
    checks: dict[str, str] = {}
    if get_config(app).cluster.celery:
        checks["broker"] = _broker(app)
    link = redis_link(app)
    if link is not None:
        checks["redis"] = OK if link.ping() else "нет связи: общие лимиты порталов заменены осторожными местными"
    return checks


def _broker(app: Flask) -> str:
    from b24app.engine.celery_app import get_celery

    try:
        with get_celery(app).connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any failure to reach the broker is the report itself
        return f"нет связи: {type(exc).__name__}; вызовы принимаются и ждут в базе"
    return OK


def _portal(app: Flask, member_id: str) -> str:
    installation = get_store(app).find(member_id=member_id)
    if installation is not None and installation.tokens_broken_at is not None:
        return "ключи не работают: откройте приложение администратором"
    try:
        with client_for(app, member_id) as client:
            client.call("app.info")
    except (B24Error, LookupError) as exc:
        return f"нет ответа: {type(exc).__name__}"
    return OK


# -- metrics read at scrape time -------------------------------------------------------------

class _InboxCollector:
    """Inbox depth per status and the age of the oldest waiting item (for alerts on a stuck worker)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("b24app_inbox_items", "Inbox items by status", labels=["status"])
        age = GaugeMetricFamily("b24app_inbox_oldest_pending_seconds", "Age of the oldest item not yet processed")
        with get_db(self.app).read_session() as session:
            waiting = InboxItem.status.in_(("pending", "processing", "failed"))  # processed items are history
            for status, count in session.execute(select(InboxItem.status, func.count()).where(waiting)
                                                 .group_by(InboxItem.status)):
                depth.add_metric([status], count)
            oldest = session.scalar(select(func.min(InboxItem.received_at))
                                    .where(InboxItem.status.in_(("pending", "processing"))))
        age.add_metric([], (utcnow() - oldest).total_seconds() if oldest else 0.0)
        yield depth
        yield age
        per_portal = GaugeMetricFamily("b24app_portal_queue_items",
                                       "Calls not yet processed, per portal (member_id) and status",
                                       labels=["portal", "status"])
        for member_id, status, count in depth_by_portal(get_db(self.app)):
            per_portal.add_metric([member_id, status], count)
        yield per_portal


def _inbox_registry(app: Flask) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_InboxCollector(app))  # type: ignore[arg-type]
    return registry


# -- request timing ---------------------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Time every request of the app by its endpoint (route name, a bounded label)."""

    @app.before_request
    def _start() -> None:
        g.b24app_started = time.perf_counter()

    @app.teardown_request
    def _observe(_error: BaseException | None) -> None:
        started = g.pop("b24app_started", None)
        if started is not None:
            PAGE_SECONDS.labels(request.endpoint or "unknown").observe(time.perf_counter() - started)
