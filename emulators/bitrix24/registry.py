"""The seam between the emulator's transport and its REST methods.

Every REST method is a plain function registered with ``@method(...)``. The transport
(``server.py``) authenticates the call, enforces scope, app-context and admin rules declared
here, runs the function with a ``Call`` and wraps the result in Bitrix24's envelope
(REST docs: api-reference/data-types.md#time, error-codes.md). Features live in their own modules
(``users.py``, ``bizproc.py``...) and keep their state in ``portal.feature(name, factory)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol


class RestError(Exception):
    """A Bitrix24 error envelope: ``{"error": code, "error_description": description, **extra}``."""

    def __init__(self, code: str, description: str, status: int = 400, **extra: Any) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.extra = extra


@dataclass
class ListPage:
    """A list result: the transport lifts ``total``/``next`` to the top level (page size 50)."""

    items: list[Any]
    total: int
    next: int | None = None


class Portal(Protocol):
    """What methods may use of the portal; implemented by ``state.PortalState``."""

    member_id: str
    base_url: str

    def feature(self, name: str, factory: Callable[[], Any]) -> Any: ...
    def user(self, user_id: int) -> dict | None: ...
    def is_admin(self, user_id: int) -> bool: ...
    def app(self, client_id: str) -> Any: ...
    def issue_token(self, client_id: str, user_id: int) -> dict: ...
    def fire_event(self, event: str, data: dict, *, user_id: int | None = None) -> None: ...
    def post_form(self, url: str, data: dict) -> None: ...


@dataclass
class Call:
    """One executed method call."""

    portal: Portal
    method: str
    params: dict[str, Any]
    user_id: int
    client_id: str | None = None  # None for an incoming webhook
    scopes: frozenset[str] = field(default_factory=frozenset)

    def param(self, name: str, default: Any = None) -> Any:
        """Case-insensitive parameter lookup
        [not in the docs: core modules/bizproc/lib/restservice.php and other handlers]."""
        if name in self.params:
            return self.params[name]
        lowered = name.lower()
        for key, value in self.params.items():
            if key.lower() == lowered:
                return value
        return default


@dataclass(frozen=True)
class MethodSpec:
    name: str
    func: Callable[[Call], Any]
    scope: str
    app_only: bool
    admin_only: bool
    server_time_s: float


METHODS: dict[str, MethodSpec] = {}


def method(
    name: str,
    *,
    scope: str,
    app_only: bool = False,
    admin_only: bool = False,
    server_time_s: float = 0.02,
) -> Callable[[Callable[[Call], Any]], Callable[[Call], Any]]:
    """Register a REST method; ``server_time_s`` is its default charged operating time."""

    def register(func: Callable[[Call], Any]) -> Callable[[Call], Any]:
        METHODS[name.lower()] = MethodSpec(name.lower(), func, scope, app_only, admin_only, server_time_s)
        return func

    return register


AppWipeHook = Callable[[Portal, str], None]
APP_WIPE_HOOKS: list[AppWipeHook] = []


def on_app_wipe(func: AppWipeHook) -> AppWipeHook:
    """Register ``func(portal, client_id)``, run when an app is updated or uninstalled.

    The platform deletes the app's event handlers then (REST docs: api-reference/events/event-bind.md) and
    its activities and robots [not in the docs: core modules/bizproc/lib/restservice.php onRestAppDelete];
    a feature module drops its registrations of that app here.
    """
    APP_WIPE_HOOKS.append(func)
    return func


KNOWN_EVENTS: set[str] = set()


def declare_events(*names: str) -> None:
    """Make event names bindable with ``event.bind`` (unknown ones get ERROR_EVENT_NOT_FOUND)."""
    KNOWN_EVENTS.update(name.upper() for name in names)


HookFunc = Callable[[Portal, Any], Any]
HOOKS: dict[tuple[str, str], HookFunc] = {}


def hook(path: str, methods: list[str]) -> Callable[[HookFunc], HookFunc]:
    """Mount ``func(portal, json_body) -> json`` at ``path`` (must start with ``/_emulator/``).

    Feature hooks run without the portal lock; a feature guards its own state.
    """
    if not path.startswith("/_emulator/"):
        raise ValueError("test hooks live under /_emulator/ only")

    def register(func: HookFunc) -> HookFunc:
        for verb in methods:
            HOOKS[(verb.upper(), path.rstrip("/"))] = func
        return func

    return register
