"""Everything one emulated portal knows, behind one lock; implements ``registry.Portal``."""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from .clock import Clock, SystemClock
from .dispatch import Dispatcher
from .events import EventHub
from .faults import FaultInjector
from .limits import OPERATING_LIMIT_S, PLANS, LeakyBucket, OperatingLimiter
from .oauth import TokenStore
from .registry import APP_WIPE_HOOKS, METHODS, Call

ALL_SCOPES = ("user", "department", "sonet_group", "im", "disk", "placement", "bizproc", "lists",
              "timeman", "messageservice", "basic", "app", "task", "crm")
INT_TABLES = ("users", "departments", "groups", "user_fields", "storages", "disk_objects", "notifications",
              "placements")


@dataclass
class Options:
    """Knobs of one portal; every [inferred] choice is switchable here."""

    plan: str = "standard"
    time_scale: float = 1.0
    seed: int = 1
    rate_limit: bool = True
    operating_limit_s: float = OPERATING_LIMIT_S
    access_ttl_s: float = 3600.0
    extranet_site: str = "co"
    intranet_site: str = "s1"
    legacy_user_errors: bool = False  # user.add errors with empty codes, as the old core threw them
    # [not in the docs: core modules/rest/lib/api/user.php]
    https_required: bool = False  # REST docs: _includes/system-errors.md (INVALID_REQUEST "Https required")
    realtime: float = 0.0  # fraction of the accounted server time actually slept
    tz_offset_h: int = 3
    admin_webhook_code: str = ""


@dataclass
class App:
    """A local application registered in the portal (REST docs: local-integrations/local-apps.md)."""

    app_id: int
    client_id: str
    client_secret: str
    handler_url: str
    install_url: str
    scopes: list[str]
    api_only: bool = False
    installed: bool = False
    active: bool = True
    application_token: str = ""
    version: int = 1
    status: str = "L"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Webhook:
    """An incoming webhook: runs as ``user_id`` with ``scopes``."""

    hook_id: int
    user_id: int
    code: str
    scopes: list[str]


class Counters:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.rejected_503 = 0
        self.rejected_429 = 0
        self.by_method: dict[str, dict[str, float]] = {}

    def record(self, method: str, seconds: float) -> None:
        entry = self.by_method.setdefault(method, {"calls": 0, "operating_s": 0.0})
        entry["calls"] += 1
        entry["operating_s"] += seconds

    def snapshot(self) -> dict[str, Any]:
        return {"requests": self.requests, "by_method": self.by_method,
                "rejected_503": self.rejected_503, "rejected_429": self.rejected_429}


class PortalState:
    def __init__(self, options: Options | None = None, clock: Clock | None = None) -> None:
        self.options = options or Options()
        self.clock = clock or SystemClock()
        scale = self.options.time_scale
        self.member_id = hashlib.md5(f"b24-emulator-portal-{self.options.seed}".encode()).hexdigest()
        self.base_url = ""
        self.oauth_base_url = ""  # the separate OAuth server (oauth.bitrix.info's part), see serve()
        self.lock = threading.RLock()
        self._feature_lock = threading.RLock()
        capacity, rate = PLANS[self.options.plan]
        self.bucket = LeakyBucket(capacity, rate * scale, self.clock)
        self.operating = OperatingLimiter(self.clock, self.options.operating_limit_s / scale, scale)
        self.tokens = TokenStore(self.clock, self.options.access_ttl_s / scale, scale)
        self.dispatcher = Dispatcher()
        self.counters = Counters()
        self.faults = FaultInjector(self.options.seed)
        self.events = EventHub(self)
        self.method_times: dict[str, float] = {}
        self._update_callbacks: list[Callable[[Any, str], None]] = []
        self.admin_webhook = self.options.admin_webhook_code or hashlib.sha1(
            f"b24-emulator-hook-{self.options.seed}".encode()).hexdigest()[:16]
        self.features: dict[str, Any] = {}
        self.clear()

    # -- lifecycle of the whole state ------------------------------------------------------------

    def clear(self) -> None:
        """Forget everything except the admin user 1 and the seeded admin webhook."""
        self.close_features()
        self.tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in INT_TABLES}
        self.sequences: dict[str, int] = {}
        self.apps: dict[str, App] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.frames: dict[str, dict[str, Any]] = {}  # client_id -> its last install frame (bx24js.py)
        self.features = {}
        self._pending_features: dict[str, Any] = {}
        self.emails: dict[str, int] = {}
        self.xml_ids: dict[str, int] = {}
        self.events.clear()
        self.tokens.access.clear()
        self.tokens.refresh.clear()
        self.tokens.codes.clear()
        self.bucket.reset()
        self.operating.reset()
        self.faults.clear()
        self.counters.reset()
        self._seed_core()

    def _seed_core(self) -> None:
        self.tables["departments"][1] = {"ID": 1, "NAME": "Компания", "SORT": 500, "PARENT": None, "UF_HEAD": 1}
        self.sequences["departments"] = 1
        self.add_user({"NAME": "Администратор", "LAST_NAME": "Портала", "EMAIL": "admin@portal.example",
                       "UF_DEPARTMENT": [1], "ADMIN": True, "LAST_LOGIN": self.iso(self.clock.now())})
        self.webhooks[self.admin_webhook] = Webhook(1, 1, self.admin_webhook, list(ALL_SCOPES))
        self.sequences["webhooks"] = 1

    def close_features(self) -> None:
        """Stop what features run in the background (the workflow runtime) before their state goes."""
        for value in list(self.features.values()):
            if hasattr(value, "close"):
                value.close()

    def next_id(self, name: str) -> int:
        self.sequences[name] = self.sequences.get(name, 0) + 1
        return self.sequences[name]

    # -- registry.Portal ------------------------------------------------------------------------

    def feature(self, name: str, factory: Callable[[], Any]) -> Any:
        """The named state of a feature module, created on first use (restored from the state file)."""
        with self._feature_lock:  # not the portal lock: features take their own locks inside REST calls
            if name not in self.features:
                value = factory()
                saved = self._pending_features.pop(name, None)
                if saved is not None:
                    value = _restore_feature(value, saved)
                self.features[name] = value
            return self.features[name]

    def user(self, user_id: int) -> dict | None:
        return self.tables["users"].get(_as_int(user_id))

    def is_admin(self, user_id: int) -> bool:
        user = self.user(user_id)
        return bool(user and user.get("ADMIN"))

    def app(self, client_id: str) -> App | None:
        return self.apps.get(client_id)

    def issue_token(self, client_id: str, user_id: int) -> dict:
        """OAuth token JSON as the OAuth server answers: ``domain`` and ``server_endpoint`` are the OAuth
        server's own, ``client_endpoint`` the portal's REST (b24restdocs settings/oauth/index.md)."""
        access, refresh, expires = self.tokens.issue(client_id, user_id)
        app = self.apps.get(client_id)
        return {"access_token": access, "expires": int(expires), "expires_in": int(self.tokens.access_ttl_s),
                "scope": ",".join(app.scopes) if app else "app", "domain": self.oauth_domain,
                "server_endpoint": self.server_endpoint, "status": app.status if app else "L",
                "client_endpoint": self.rest_url, "member_id": self.member_id, "user_id": int(user_id),
                "refresh_token": refresh}

    def fire_event(self, event: str, data: dict, *, user_id: int | None = None) -> None:
        self.events.fire(event, data, user_id=user_id)

    def post_form(self, url: str, data: dict) -> None:
        self.dispatcher.submit(url, data)

    # -- extensions used by the core modules ----------------------------------------------------

    def on_app_update(self, callback: Callable[[Any, str], None]) -> None:
        """Run ``callback(portal, client_id)`` when an app is updated or removed (its registrations wiped)."""
        self._update_callbacks.append(callback)

    def wipe_app_registrations(self, client_id: str) -> None:
        self.events.unbind_app(client_id)
        for callback in [*APP_WIPE_HOOKS, *self._update_callbacks]:
            callback(self, client_id)

    @property
    def domain(self) -> str:
        return self.base_url.split("://", 1)[-1]

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/rest/"

    @property
    def oauth_domain(self) -> str:
        """The OAuth server's host (``oauth.bitrix.info`` on the cloud)."""
        return self.oauth_base_url.split("://", 1)[-1]

    @property
    def server_endpoint(self) -> str:
        """The OAuth server's REST address (``https://oauth.bitrix.info/rest/``, settings/oauth/index.md)."""
        return f"{self.oauth_base_url}/rest/"

    def iso(self, timestamp: float) -> str:
        """``date('c')`` in the portal's time zone."""
        zone = timezone(timedelta(hours=self.options.tz_offset_h))
        return datetime.fromtimestamp(timestamp, zone).isoformat(timespec="seconds")

    def server_time(self, method: str) -> float:
        """Accounted server time of one call, already divided by the time scale."""
        spec = METHODS[method]
        return self.method_times.get(method, spec.server_time_s) / self.options.time_scale

    # -- users (core data every feature may need) -----------------------------------------------

    def add_user(self, fields: dict[str, Any]) -> dict[str, Any]:
        user_id = self.next_id("users")
        user = {"ID": user_id, "ACTIVE": True, "USER_TYPE": "employee", "UF_DEPARTMENT": [], "XML_ID": None,
                "CONFIRM_CODE": "", "LAST_LOGIN": None, "DATE_REGISTER": self.iso(self.clock.now()),
                "IS_ONLINE": "N", "ADMIN": False, "GROUPS_PENDING": [], **fields}
        user["ID"] = user_id
        self.tables["users"][user_id] = user
        self.index_user(user, None)
        return user

    def index_user(self, user: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Keep the e-mail and XML_ID indexes in step with a user write."""
        for index, key in ((self.emails, "EMAIL"), (self.xml_ids, "XML_ID")):
            if old and old.get(key):
                index.pop(str(old[key]).lower(), None)
            if user.get(key):
                index[str(user[key]).lower()] = user["ID"]

    # -- persistence ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "tables": self.tables, "sequences": self.sequences,
                "apps": {cid: asdict(app) for cid, app in self.apps.items()},
                "webhooks": {code: asdict(hook) for code, hook in self.webhooks.items()},
                "tokens": self.tokens.snapshot(), "events": self.events.snapshot(),
                "method_times": self.method_times,
                "features": {**self._pending_features, **{name: _feature_snapshot(value)
                             for name, value in self.features.items()}}}

    def restore(self, data: dict[str, Any]) -> None:
        self.clear()
        self.member_id = data.get("member_id", self.member_id)
        self.tables = {name: {int(key): row for key, row in data["tables"].get(name, {}).items()}
                       for name in INT_TABLES}
        self.sequences = dict(data.get("sequences", {}))
        self.apps = {cid: App(**app) for cid, app in data.get("apps", {}).items()}
        self.webhooks = {code: Webhook(**hook) for code, hook in data.get("webhooks", {}).items()}
        self.tokens.restore(data.get("tokens", {}))
        self.events.restore(data.get("events", {}))
        self.method_times = dict(data.get("method_times", {}))
        self._pending_features = {name: value for name, value in data.get("features", {}).items()
                                  if value is not None}
        for user in self.tables["users"].values():
            self.index_user(user, None)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the snapshot atomically (temp file + rename)."""
        target = Path(path)
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_text(json.dumps(self.snapshot(), ensure_ascii=False, default=str), encoding="utf-8")
        temporary.replace(target)

    def load(self, path: str | os.PathLike[str]) -> None:
        self.restore(json.loads(Path(path).read_text(encoding="utf-8")))


def portal_state(call: Call) -> PortalState:
    """The concrete portal behind a call: the core modules use its tables directly."""
    return call.portal  # type: ignore[return-value]


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _feature_snapshot(value: Any) -> Any:
    """A feature's JSON form: its ``snapshot()``, or itself when it is plain data; None if neither."""
    if hasattr(value, "snapshot"):
        return value.snapshot()
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None
    return value


def _restore_feature(value: Any, saved: Any) -> Any:
    if hasattr(value, "restore"):
        value.restore(saved)
        return value
    if isinstance(value, dict) and isinstance(saved, dict):
        value.update(saved)
        return value
    return saved


def new_application_token() -> str:
    return secrets.token_hex(16)
