"""Errors raised by the 1C:ZUP connector (OData and SOAP).

One tree for the whole external system; callers catch ``OneCError`` or a branch of it::

    OneCError
     ├── OneCConfigError             bad connection config or bad caller input (also ValueError)
     ├── OneCTransportError          network failure before a usable answer      [Transient]
     │    ├── OneCTimeout            connect/read timeout                         [Transient]
     │    └── OneCServiceUnavailable 502/503/504 from the web server in front of 1C [Transient]
     ├── OneCAuthError               401/403: wrong login, password or rights
     ├── OneCDataError               the answer is not what the contract promises (shape, JSON)
     ├── OneCIncompleteRead          a read could not be proven complete (rows lost while paging)
     ├── ODataError(status, code, message)   an ``odata.error`` body or an unexpected HTTP status
     │    ├── ODataSetNotPublished(set_name) entity set absent from the standard interface (code 8)
     │    ├── ODataNotFound                  entity instance not found (code 9)
     │    └── ODataServerError               HTTP 500: 1C failed the request (not retried)
     └── SoapFault(message)          SOAP Fault from the b24sync web service

``Transient`` is a marker mixin: the one retry policy (``onec.retry``) retries exactly those.
Messages never contain passwords or personal data (СНИЛС, ИНН, phones): only set names,
HTTP statuses and the 1C error text.
"""

from __future__ import annotations


class OneCError(Exception):
    """Root of every error raised by ``onec``."""


class Transient:
    """Marker: the failure may go away if the same idempotent request is repeated."""


class OneCConfigError(OneCError, ValueError):
    """Connection config or caller input is invalid."""


class OneCTransportError(OneCError, Transient):
    """The request did not get a usable HTTP answer (connection refused, reset, dropped)."""


class OneCTimeout(OneCTransportError):
    """Connect or read timeout."""


class OneCServiceUnavailable(OneCTransportError):
    """The web server in front of 1C answered 502/503/504."""

    def __init__(self, status: int, where: str) -> None:
        self.status = status
        super().__init__(f"1C web server answered HTTP {status} on {where}")


class OneCAuthError(OneCError):
    """1C rejected the credentials or the user lacks rights."""


class OneCDataError(OneCError):
    """The answer does not have the shape the contract promises."""


class OneCIncompleteRead(OneCError):
    """A paged read could not be reconciled with the key set: the result would be partial."""


class OneCFeedPositionUnknown(OneCError):
    """1C's change feed does not know the stored position (restored from a backup, counter reset):
    changes after it cannot be read; the caller must read everything again."""


class ODataError(OneCError):
    """An error answer from the 1C OData standard interface."""

    def __init__(self, status: int, code: str, message: str, *, entity_set: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.entity_set = entity_set
        where = f" [{entity_set}]" if entity_set else ""
        super().__init__(f"1C OData HTTP {status}, code {code or '-'}{where}: {message}")


class ODataSetNotPublished(ODataError):
    """The entity set is not published in the standard OData interface."""

    def __init__(self, entity_set: str, status: int = 404, code: str = "8", message: str = "") -> None:
        super().__init__(status, code, message or "Тип сущности не найден", entity_set=entity_set)
        self.args = (
            f"Объект «{entity_set}» не опубликован в стандартном интерфейсе OData 1С. "
            "Опубликуйте его: Администрирование → Синхронизация данных → "
            "Настройка стандартного интерфейса OData.",
        )


class ODataNotFound(ODataError):
    """The requested entity instance does not exist."""


class ODataServerError(ODataError):
    """1C answered HTTP 500: the request failed inside 1C."""


class SoapFault(OneCError):
    """The b24sync web service answered with a SOAP Fault."""
