"""What the sync raises, and the one place that classifies failures: fatal, retriable, skippable.

```
SyncError
├── SyncFatal ............. the run stops, nothing more is written (1C read failed, dead token, ...)
│   ├── SourceReadFailed .. 1C could not be read completely: never plan, never deactivate
│   └── SyncRefused ....... safety stop (too many deactivations without --force)
└── SyncBusy .............. another sync holds the lock
```

Per-command Bitrix24 errors are **skippable**: the record is listed in the run report with its
reason and retried by the next run. Refusals and ambiguous transport failures are **retriable**:
the client resends what is safe, the sync reconciles the rest by natural key. Errors that make
every further call pointless (auth, access, portal gone, manual block) are **fatal**.
"""
from __future__ import annotations

from typing import Literal

from b24app.bitrix.errors import (B24AccessDenied, B24AuthFatal, B24Error, B24MethodNotFound, B24Overloaded,
                                  B24PortalDeleted, B24RefusedError, is_ambiguous)

Verdict = Literal["fatal", "retriable", "skippable"]

FATAL_B24 = (B24AuthFatal, B24PortalDeleted, B24Overloaded, B24MethodNotFound)


class SyncError(Exception):
    """Root of the sync's own errors; messages are operator-facing (Russian)."""


class SyncFatal(SyncError):
    pass


class SourceReadFailed(SyncFatal):
    pass


class SyncRefused(SyncFatal):
    pass


class SyncBusy(SyncError):
    pass


def classify(error: BaseException, *, per_command: bool) -> Verdict:
    """Fatal, retriable or skippable; ``per_command``: the error came for one command of a batch."""
    if isinstance(error, FATAL_B24):
        return "fatal"
    if isinstance(error, B24AccessDenied):
        return "skippable" if per_command else "fatal"
    if isinstance(error, B24RefusedError) or (isinstance(error, B24Error) and is_ambiguous(error)):
        return "retriable"
    if isinstance(error, B24Error):
        return "skippable" if per_command else "fatal"
    return "fatal"


def reason(error: BaseException | None) -> str:
    """A short operator-facing reason for a skipped record (never the command's parameters)."""
    if error is None:
        return "результат неизвестен (сбой связи); будет сверено при следующем запуске"
    code = getattr(error, "code", "") or type(error).__name__
    description = getattr(error, "description", "") or str(error)
    return f"Битрикс24: {code}: {description[:200]}"
