"""Everything the Bitrix24 REST client raises or reports, in one tree.

```
B24Error
├── B24TransportError ........... no usable answer: the request may or may not have run (ambiguous)
│   ├── B24Timeout
│   ├── B24ConnectionError ...... reset, refused, DNS
│   └── B24BadResponse .......... HTML gateway page, non-JSON body, 5xx without a Bitrix envelope
└── B24APIError ................. Bitrix24 answered {"error": code, "error_description": ...}
    ├── B24RefusedError ......... refused before execution: always safe to resend
    │   ├── B24QueryLimitExceeded ..... QUERY_LIMIT_EXCEEDED (503, leaky bucket)
    │   └── B24OperationTimeLimit ..... OPERATION_TIME_LIMIT (429, per-method budget)
    ├── B24AuthError
    │   ├── B24TokenExpired ........... expired_token: refresh once and resend
    │   └── B24AuthFatal .............. invalid_token, invalid_grant, NO_AUTH_FOUND, ... (re-install)
    ├── B24AccessDenied ............... ACCESS_DENIED, insufficient_scope, user_access_error, ...
    ├── B24Overloaded ................. OVERLOAD_LIMIT (manual block: call support)
    ├── B24PortalDeleted .............. PORTAL_DELETED
    ├── B24MethodNotFound ............. ERROR_METHOD_NOT_FOUND
    └── B24ServerError ................ INTERNAL_SERVER_ERROR, ERROR_UNEXPECTED_ANSWER, 5xx (ambiguous)
```

`B24APIError` carries `code` exactly as received (possibly `""`), `description` and the HTTP `status`
(0 for a per-command error inside a batch). Codes are matched case-insensitively.
"Ambiguous" errors (`is_ambiguous`) may have been executed: resend only idempotent requests.
"""
from __future__ import annotations

from typing import Any


class B24Error(Exception):
    """Root of every Bitrix24 client error."""


class B24TransportError(B24Error):
    """The request got no usable answer; the server may have executed it."""


class B24Timeout(B24TransportError):
    pass


class B24ConnectionError(B24TransportError):
    pass


class B24BadResponse(B24TransportError):
    """A body that is not a Bitrix24 JSON envelope (HTML gateway page, truncated JSON, ...)."""

    def __init__(self, status: int, content_type: str, snippet: str) -> None:
        super().__init__(f"HTTP {status} {content_type or 'no content type'}: {snippet[:120]!r}")
        self.status = status
        self.content_type = content_type
        self.snippet = snippet


class B24APIError(B24Error):
    """Bitrix24 reported an error; `code` may be empty, `description` is kept as sent."""

    def __init__(self, code: str, description: str, *, status: int = 0,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code or '<empty code>'}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.extra = extra or {}


class B24RefusedError(B24APIError):
    """Refused before execution, so resending is always safe."""


class B24QueryLimitExceeded(B24RefusedError):
    pass


class B24OperationTimeLimit(B24RefusedError):
    pass


class B24AuthError(B24APIError):
    pass


class B24TokenExpired(B24AuthError):
    pass


class B24AuthFatal(B24AuthError):
    """The credentials are dead: the application has to be re-installed or re-authorised."""


class B24AccessDenied(B24APIError):
    pass


class B24Overloaded(B24APIError):
    pass


class B24PortalDeleted(B24APIError):
    pass


class B24MethodNotFound(B24APIError):
    pass


class B24ServerError(B24APIError):
    """A server-side failure: the request may have been (partly) executed."""


_CLASS_BY_CODE: dict[str, type[B24APIError]] = {
    "query_limit_exceeded": B24QueryLimitExceeded,
    "operation_time_limit": B24OperationTimeLimit,
    "expired_token": B24TokenExpired,
    "invalid_token": B24AuthFatal,
    "invalid_grant": B24AuthFatal,
    "invalid_client": B24AuthFatal,
    "no_auth_found": B24AuthFatal,
    "invalid_credentials": B24AuthFatal,
    "authorization_error": B24AuthFatal,
    "application_not_found": B24AuthFatal,
    "payment_required": B24AuthFatal,
    "wrong_auth_type": B24AuthFatal,
    "access_denied": B24AccessDenied,
    "insufficient_scope": B24AccessDenied,
    "invalid_scope": B24AccessDenied,
    "user_access_error": B24AccessDenied,
    "method_confirm_waiting": B24AccessDenied,
    "method_confirm_denied": B24AccessDenied,
    "overload_limit": B24Overloaded,
    "portal_deleted": B24PortalDeleted,
    "error_method_not_found": B24MethodNotFound,
    "internal_server_error": B24ServerError,
    "error_unexpected_answer": B24ServerError,
}
"""Bitrix24 codes we act on (lower-cased); anything else is a plain `B24APIError`."""


def api_error(code: str, description: str, *, status: int = 0,
              extra: dict[str, Any] | None = None) -> B24APIError:
    """Build the typed error for a Bitrix24 error envelope (code compared case-insensitively)."""
    cls = _CLASS_BY_CODE.get(code.lower())
    if cls is None:
        cls = B24ServerError if status >= 500 else B24APIError
    return cls(code, description, status=status, extra=extra)


def is_ambiguous(error: B24Error) -> bool:
    """True when the request may have run although it failed: resend only what is idempotent."""
    return isinstance(error, (B24TransportError, B24ServerError))
