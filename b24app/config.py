"""Configuration: structure from ``app.yaml``, secrets from the environment (or ``.env``).

``load_config()`` returns a typed :class:`Config` or raises :class:`ConfigError` carrying every
problem found, each naming the file, the key and what is expected. ``b24app config check``
prints them; the app refuses to start with the same messages. The core reads its own keys
(``mode``, ``app``, ``bitrix24``, ``worker``, ``schedules``, ``features``); each feature's section
is read by the reader the feature declares (:class:`b24app.features.ConfigSection`).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

import yaml
from cryptography.fernet import Fernet

from b24app.engine.settings import ClusterSettings, load_cluster
from b24app.features import Feature, enabled_features
from b24app.tenancy import current_portal

ENV_FILE = ".env (окружение)"

DEFAULT_SCOPES = ("bizproc", "lists", "user", "department", "sonet_group", "im", "disk", "placement",
                  "messageservice")
DEFAULT_EVENTS = ("ONAPPUPDATE", "ONAPPUNINSTALL")  # add user events once a handler needs them

# Features that only work when the service runs as an installed local app, not through a webhook
# (Bitrix24 REST docs: local-integrations/local-webhooks.md, local-integrations/local-apps.md).
APP_ONLY_FEATURES = (
    "установка бизнес-процессов (bizproc.workflow.template.*)",
    "действия приложения в бизнес-процессах (bizproc.activity.*)",
    "события Битрикс24 (event.bind)",
    "встройки (placement.bind)",
    "системные уведомления (im.notify.system.add)",
)


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid or missing setting."""

    file: str
    key: str
    expected: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.expected}"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every issue found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Config:
    """Everything the service needs, validated."""

    mode: str  # "app" (installed local application) or "webhook" (one portal, incoming webhook)
    public_url: str
    app_version: int
    scopes: tuple[str, ...]
    events: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    oauth_token_url: str
    bx24_js_url: str
    client_id: str
    client_secret: str
    token_keys: tuple[str, ...]
    database_url: str
    webhook_url: str
    secret_key: str
    plan: str  # the portal's tariff: "standard" (2 req/s, burst 50) or "enterprise" (5 req/s, burst 250)
    time_scale: float  # > 1 only against an emulated portal whose clock runs faster
    sections: Mapping[str, Any]  # raw sections (the core's worker and schedules)
    source_file: str
    features: tuple[str, ...] = ()  # the enabled features, in the assembly's order
    feature_settings: Mapping[str, Any] = field(default_factory=dict)  # section name -> typed settings
    cluster: ClusterSettings = ClusterSettings()
    portals: Mapping[str, PortalSections] = field(default_factory=dict)  # member_id -> its own sections

    def section(self, name: str) -> Mapping[str, Any]:
        """A raw ``app.yaml`` section (empty if absent): the portal in scope's own, else the top-level one."""
        own = self.portals.get(current_portal() or "")
        if own is not None and name in own.sections:
            return own.sections[name] or {}
        return self.sections.get(name) or {}

    def settings(self, section: str) -> Any:
        """The typed settings a feature's reader made of its section (KeyError if it is not enabled),
        the portal in scope's own when it names that section (b24app.tenancy)."""
        own = self.portals.get(current_portal() or "")
        if own is not None and section in own.settings:
            return own.settings[section]
        return self.feature_settings[section]


@dataclass(frozen=True)
class PortalSections:
    """One portal's own sections of app.yaml (``portals: {<member_id>: {...}}``)."""

    member_id: str
    title: str
    sections: Mapping[str, Any]  # raw (schedules, ...)
    settings: Mapping[str, Any]  # section name -> typed settings, for the sections it names


class _Reader:
    """Collects problems while reading nested keys of one mapping."""

    def __init__(self, data: Mapping[str, Any], file: str) -> None:
        self.data = data
        self.file = file
        self.problems: list[ConfigProblem] = []

    def problem(self, key: str, expected: str) -> None:
        self.problems.append(ConfigProblem(self.file, key, expected))

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def string(self, dotted: str, default: str | None = None, *, expected: str = "непустая строка") -> str:
        value = self.get(dotted, default)
        if not isinstance(value, str) or not value.strip():
            self.problem(dotted, expected)
            return ""
        return value.strip()

    def url(self, dotted: str, default: str | None = None) -> str:
        value = self.string(dotted, default, expected="адрес http(s)")
        if value and not _is_http_url(value):
            self.problem(dotted, f"адрес http(s), а указано {value!r}")
        return value

    def string_list(self, dotted: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(dotted, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(dotted, "список непустых строк")
            return default
        return tuple(value)


def _is_http_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _read_yaml(path: Path) -> tuple[dict[str, Any], list[ConfigProblem]]:
    if not path.exists():
        return {}, [ConfigProblem(str(path), "(file)", "файл существует (скопируйте app.example.yaml)")]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return {}, [ConfigProblem(str(path), "(file)", f"корректный YAML ({exc})")]
    if not isinstance(data, dict):
        return {}, [ConfigProblem(str(path), "(file)", "словарь на верхнем уровне")]
    return data, []


def _env(env: Mapping[str, str], name: str, problems: list[ConfigProblem], expected: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        problems.append(ConfigProblem(ENV_FILE, name, expected))
    return value


def _token_keys(env: Mapping[str, str], problems: list[ConfigProblem]) -> tuple[str, ...]:
    raw = _env(env, "B24APP_TOKEN_KEY", problems, "ключ Fernet (b24app config genkey); "
               "несколько ключей через запятую — ротация, шифрует первый")
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError:
            problems.append(ConfigProblem(ENV_FILE, "B24APP_TOKEN_KEY",
                                          "32 байта в url-safe base64 (b24app config genkey)"))
            break
    return keys


def load_config(
    path: str | os.PathLike[str] = "app.yaml",
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    features: Sequence[Feature] = (),
) -> Config:
    """Read ``app.yaml`` and the environment with the sections of ``features``; raise ConfigError
    listing every problem."""
    env = os.environ if env is None else env
    file = Path(path)
    data, problems = _read_yaml(file)
    if overrides:
        data = _deep_merge(data, overrides)
    reader = _Reader(data, str(file))

    mode = reader.string("mode", "app")
    if mode not in ("app", "webhook"):
        reader.problem("mode", "app или webhook")
    public_url = reader.url("app.public_url")
    version = reader.get("app.version", 1)
    if not isinstance(version, int) or version < 1:
        reader.problem("app.version", "целое число больше нуля")
        version = 1
    scopes = reader.string_list("app.scopes", DEFAULT_SCOPES)
    events = reader.string_list("app.events", DEFAULT_EVENTS)
    allowed_domains = reader.string_list("app.allowed_domains", ())
    oauth_url = reader.url("app.oauth_token_url", "https://oauth.bitrix.info/oauth/token/")
    bx24_js = reader.string("app.bx24_js_url", "//api.bitrix24.com/api/v1/")
    enabled = _enabled(reader, features)
    plan = reader.string("bitrix24.plan", "standard")
    if plan and plan not in ("standard", "enterprise"):
        reader.problem("bitrix24.plan", "standard или enterprise")
    time_scale = reader.get("bitrix24.time_scale", 1)
    if not isinstance(time_scale, (int, float)) or time_scale <= 0:
        reader.problem("bitrix24.time_scale", "положительное число (1 для настоящего портала)")
        time_scale = 1
    problems.extend(reader.problems)

    client_id = client_secret = webhook_url = ""
    if mode == "app":
        client_id = _env(env, "B24_CLIENT_ID", problems, "код приложения (client_id) из карточки приложения")
        client_secret = _env(env, "B24_CLIENT_SECRET", problems, "ключ приложения (client_secret)")
    else:
        webhook_url = _env(env, "B24_WEBHOOK_URL", problems,
                           "адрес входящего вебхука https://<портал>/rest/<пользователь>/<код>/")
        if webhook_url and not _is_http_url(webhook_url):
            problems.append(ConfigProblem(ENV_FILE, "B24_WEBHOOK_URL", "адрес http(s)"))
    token_keys = _token_keys(env, problems)
    secret_key = _env(env, "SECRET_KEY", problems, "случайная строка для подписи сессий")
    database_url = env.get("DATABASE_URL", "").strip()

    settings = _feature_settings(data, env, enabled, str(file), problems)
    cluster = _cluster(data, env, str(file), problems)
    portals = _portals(data, env, enabled, str(file), problems)
    if problems:
        raise ConfigError(problems)
    known = ({"mode", "app", "bitrix24", "features", "cluster", "portals"}
             | {f.config_section.name for f in features if f.config_section})
    return Config(
        mode=mode, public_url=public_url.rstrip("/"), app_version=version, scopes=scopes,
        events=events, allowed_domains=allowed_domains, oauth_token_url=oauth_url,
        bx24_js_url=bx24_js, client_id=client_id, client_secret=client_secret,
        token_keys=token_keys, database_url=database_url, webhook_url=webhook_url,
        secret_key=secret_key, plan=plan, time_scale=float(time_scale),
        sections={k: v for k, v in data.items() if k not in known}, source_file=str(file),
        features=tuple(f.name for f in enabled), feature_settings=settings, cluster=cluster, portals=portals,
    )


def _enabled(reader: _Reader, features: Sequence[Feature]) -> tuple[Feature, ...]:
    """``features: {name: true|false}``: every feature is on unless switched off; required ones stay on."""
    switches = reader.get("features", {}) or {}
    if not isinstance(switches, Mapping):
        reader.problem("features", "словарь «имя функции: true/false»")
        return tuple(features)
    names = {f.name for f in features}
    for name, value in switches.items():
        if name not in names:
            reader.problem(f"features.{name}", "одна из функций: " + ", ".join(sorted(names)))
        elif not isinstance(value, bool):
            reader.problem(f"features.{name}", "true или false")
    enabled = enabled_features(features, {k: v for k, v in switches.items() if isinstance(v, bool)})
    on = {f.name for f in enabled}
    for feature in enabled:
        for needed in feature.requires:
            if needed not in on:
                reader.problem(f"features.{needed}", f"включено: без него не работает «{feature.title}»")
    return enabled


def _feature_settings(data: Mapping[str, Any], env: Mapping[str, str], features: Sequence[Feature],
                      file: str, problems: list[ConfigProblem]) -> dict[str, Any]:
    """Run each enabled feature's reader of its section; every ValueError names the key."""
    settings: dict[str, Any] = {}
    for feature in features:
        section = feature.config_section
        if section is None:
            continue
        raw = data.get(section.name) or {}
        if not isinstance(raw, Mapping):
            problems.append(ConfigProblem(file, section.name, "словарь настроек"))
            continue
        try:
            settings[section.name] = section.reader(raw, env)
        except* ValueError as group:
            problems.extend(_problem(file, exc) for exc in _leaves(group))
    return settings


def _cluster(data: Mapping[str, Any], env: Mapping[str, str], file: str,
             problems: list[ConfigProblem]) -> ClusterSettings:
    raw = data.get("cluster") or {}
    if not isinstance(raw, Mapping):
        problems.append(ConfigProblem(file, "cluster", "словарь настроек"))
        return ClusterSettings()
    try:
        return load_cluster(raw, env)
    except* ValueError as group:
        problems.extend(_problem(ENV_FILE if str(exc).startswith("B24APP_") else file, exc) for exc in _leaves(group))
    return ClusterSettings()


def _portals(data: Mapping[str, Any], env: Mapping[str, str], features: Sequence[Feature], file: str,
             problems: list[ConfigProblem]) -> dict[str, PortalSections]:
    """``portals: {<member_id>: {title?, <section>: …}}``: each named section read by its feature's reader."""
    raw = data.get("portals") or {}
    if not isinstance(raw, Mapping):
        problems.append(ConfigProblem(file, "portals", "словарь «member_id портала: его разделы настроек»"))
        return {}
    portals: dict[str, PortalSections] = {}
    for member_id, sections in raw.items():
        if not isinstance(sections, Mapping):
            problems.append(ConfigProblem(file, f"portals.{member_id}", "словарь разделов настроек портала"))
            continue
        found: list[ConfigProblem] = []
        own = _feature_settings(sections, env, [f for f in features if f.config_section
                                                and f.config_section.name in sections], file, found)
        problems.extend(ConfigProblem(p.file, f"portals.{member_id}.{p.key}", p.expected) for p in found)
        portals[str(member_id)] = PortalSections(str(member_id), str(sections.get("title") or member_id),
                                                 {k: v for k, v in sections.items() if k != "title"}, own)
    return portals


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _problem(file: str, error: BaseException) -> ConfigProblem:
    key, _, expected = str(error).partition(": ")
    return ConfigProblem(file, key, expected or str(error))


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def generate_token_key() -> str:
    """A fresh Fernet key for B24APP_TOKEN_KEY."""
    return Fernet.generate_key().decode()
