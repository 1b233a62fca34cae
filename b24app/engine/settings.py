"""The ``cluster:`` section of app.yaml: which engine runs the work and where the shared parts live.

```yaml
cluster:
  engine: celery            # embedded (default: the inbox polled in-process) or celery
  fallback_share: 4         # with Redis down, each process keeps to 1/4 of a portal's rate
  sweep_interval_s: 10      # how often the sweeper republishes accepted calls not yet on the broker
  republish_after_s: 5      # an accepted call not on the broker after this long is published again
  job_grace_s: 60           # a scheduled job fires at most this late (a scheduler replica restarting)
  job_lease_s: 60           # a running job renews its lease; a job whose worker died waits this long
```

The addresses carry passwords, so they come from the environment: ``B24APP_BROKER_URL``
(``amqp://user:password@host:5672/vhost``) and ``B24APP_REDIS_URL`` (``redis://host:6379/0``). With
``engine: embedded`` a ``B24APP_REDIS_URL`` still shares the portals' limits between processes.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENGINES = ("embedded", "celery")


@dataclass(frozen=True)
class ClusterSettings:
    engine: str = "embedded"
    broker_url: str = ""
    redis_url: str = ""
    fallback_share: int = 4
    sweep_interval_s: float = 10.0
    republish_after_s: float = 5.0
    job_grace_s: float = 60.0
    job_lease_s: float = 60.0

    @property
    def celery(self) -> bool:
        return self.engine == "celery"


def _positive(section: Mapping[str, Any], key: str, default: float, problems: list[str]) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        problems.append(f"cluster.{key}: положительное число")
        return default
    return float(value)


def load_cluster(section: Mapping[str, Any], env: Mapping[str, str]) -> ClusterSettings:
    """Read ``cluster:`` and the addresses from the environment; raise ValueError("cluster.key: …")."""
    problems: list[str] = []
    engine = section.get("engine", "embedded")
    if engine not in ENGINES:
        problems.append("cluster.engine: embedded или celery")
    broker_url = env.get("B24APP_BROKER_URL", "").strip()
    redis_url = env.get("B24APP_REDIS_URL", "").strip()
    if engine == "celery" and not broker_url.startswith(("amqp://", "amqps://")):
        problems.append("B24APP_BROKER_URL: адрес RabbitMQ amqp://пользователь:пароль@сервер:5672// (cluster.engine: celery)")
    if engine == "celery" and not redis_url.startswith(("redis://", "rediss://")):
        problems.append("B24APP_REDIS_URL: адрес Redis redis://сервер:6379/0 — общие лимиты порталов (cluster.engine: celery)")
    share = section.get("fallback_share", 4)
    if isinstance(share, bool) or not isinstance(share, int) or share < 1:
        problems.append("cluster.fallback_share: целое число от 1")
        share = 4
    settings = ClusterSettings(
        engine=engine if engine in ENGINES else "embedded", broker_url=broker_url, redis_url=redis_url,
        fallback_share=share, sweep_interval_s=_positive(section, "sweep_interval_s", 10.0, problems),
        republish_after_s=_positive(section, "republish_after_s", 5.0, problems),
        job_grace_s=_positive(section, "job_grace_s", 60.0, problems),
        job_lease_s=_positive(section, "job_lease_s", 60.0, problems))
    if problems:
        raise ExceptionGroup("cluster", [ValueError(p) for p in problems])
    return settings
