"""Configuration: structure from ``app.yaml``, secrets from the environment (or ``.env``).

``load_config()`` returns a typed :class:`Config` or raises :class:`ConfigError` carrying every
problem found, each naming the file, the key and what is expected. ``b24app config check``
prints them; the app refuses to start with the same messages.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

import yaml
from cryptography.fernet import Fernet

ENV_FILE = ".env (окружение)"

DEFAULT_SCOPES = ("bizproc", "lists", "user", "department", "sonet_group", "im", "disk", "placement")
DEFAULT_EVENTS = ("ONAPPUPDATE", "ONAPPUNINSTALL")  # add user events once a handler needs them

# Features that only work when the service runs as an installed local app (b24-app.md §1.1, §12.1).
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
class OneCConnection:
    """One 1C:ZUP infobase; the password comes from the env variable ``password_env``."""

    name: str
    mode: str
    url: str
    login: str
    password: str
    options: Mapping[str, Any] = field(default_factory=dict)


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
    onec: tuple[OneCConnection, ...]
    plan: str  # the portal's tariff: "standard" (2 req/s, burst 50) or "enterprise" (5 req/s, burst 250)
    time_scale: float  # > 1 only against an emulated portal whose clock runs faster
    sections: Mapping[str, Any]  # raw sections owned by other packages (sync, bizproc, schedules)
    source_file: str

    def section(self, name: str) -> Mapping[str, Any]:
        """A raw ``app.yaml`` section owned by another package (empty if absent)."""
        return self.sections.get(name) or {}


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


def _onec_connections(reader: _Reader, env: Mapping[str, str]) -> tuple[OneCConnection, ...]:
    raw = reader.get("onec.connections", [])
    if not isinstance(raw, list):
        reader.problem("onec.connections", "список подключений")
        return ()
    connections = []
    for index, item in enumerate(raw):
        key = f"onec.connections[{index}]"
        if not isinstance(item, Mapping):
            reader.problem(key, "словарь с ключами name, mode, url, login, password_env")
            continue
        sub = _Reader(item, reader.file)
        name = sub.string("name")
        mode = sub.string("mode", "odata")
        if mode and mode not in ("odata", "soap"):
            sub.problem("mode", "odata или soap")
        url = sub.url("url")
        login = sub.string("login")
        password_env = sub.string("password_env", expected="имя переменной окружения с паролем")
        password = env.get(password_env, "") if password_env else ""
        if password_env and not password:
            reader.problems.append(ConfigProblem(ENV_FILE, password_env, f"пароль 1С для {key}"))
        reader.problems.extend(ConfigProblem(p.file, f"{key}.{p.key}", p.expected) for p in sub.problems)
        options = {k: v for k, v in item.items() if k not in ("name", "mode", "url", "login", "password_env")}
        connections.append(OneCConnection(name, mode, url, login, password, options))
    return tuple(connections)


def load_config(
    path: str | os.PathLike[str] = "app.yaml",
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read ``app.yaml`` and the environment; raise ConfigError listing every problem."""
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
    onec = _onec_connections(reader, env)
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

    if problems:
        raise ConfigError(problems)
    known = {"mode", "app", "onec", "bitrix24"}
    config = Config(
        mode=mode, public_url=public_url.rstrip("/"), app_version=version, scopes=scopes,
        events=events, allowed_domains=allowed_domains, oauth_token_url=oauth_url,
        bx24_js_url=bx24_js, client_id=client_id, client_secret=client_secret,
        token_keys=token_keys, database_url=database_url, webhook_url=webhook_url,
        secret_key=secret_key, onec=onec, plan=plan, time_scale=float(time_scale),
        sections={k: v for k, v in data.items() if k not in known}, source_file=str(file),
    )
    section_problems = _section_problems(config)
    if section_problems:
        raise ConfigError(section_problems)
    return config


# Sections owned by other packages, validated by their own readers: (section, "module:function").
SECTION_READERS = (("sync", "sync_jobs.settings:load_settings"),
                   ("bizproc", "bizproc_templates.settings:load_settings"))


def _section_problems(config: Config) -> list[ConfigProblem]:
    """Run each package's reader of its section; a ValueError names the key and what is expected."""
    problems = []
    for _section, reader in SECTION_READERS:
        module, function = reader.split(":")
        try:
            getattr(importlib.import_module(module), function)(config)
        except ValueError as exc:
            key, _, expected = str(exc).partition(": ")
            problems.append(ConfigProblem(config.source_file, key, expected or str(exc)))
    return problems


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
