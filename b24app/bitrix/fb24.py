"""The one place fast-bitrix24 is used: `get_all` of list methods the ID window does not know.

The bridge keeps fast-bitrix24 inside our rules: its requests go through our `RequestPacer` (an
aiohttp trace hook), its `token_func` reads from our `TokenProvider` (first call: current token;
later calls mean the portal rejected the token: refresh it, at most once per `get_all`), its session
has our timeouts, and its logger (which logs parameters and whole responses) is kept at WARNING.
Errors come back in our tree; fast-bitrix24 loses 4xx bodies (`raise_for_status=True`), so such
errors carry the HTTP status and an empty code. Runs its own event loop (`asyncio.run`), so call it
from synchronous code (workers, CLI), not from inside a running loop.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aiohttp
from fast_bitrix24 import BitrixAsync
from fast_bitrix24.server_response import ErrorInServerResponseException

from .errors import B24AuthFatal, B24Error, B24TransportError, api_error

if TYPE_CHECKING:
    from .client import B24Client


class _TokenBridge:
    """fast-bitrix24's async `token_func` over our TokenProvider."""

    def __init__(self, client: B24Client) -> None:
        self._client = client
        self._token: str | None = None
        self._refreshed = False

    async def token(self) -> str:
        """First call: the current token; a later call means the portal rejected it: refresh once."""
        if self._token is None:
            self._token = await asyncio.to_thread(self._client.access_token)
        elif self._refreshed:
            raise B24AuthFatal("", "the portal rejected a freshly refreshed token", status=401)
        else:
            self._refreshed = True
            self._token = await asyncio.to_thread(self._client.refresh_token, self._token)
        return self._token or ""


def _paced(client: B24Client) -> aiohttp.TraceConfig:
    """Make every fast-bitrix24 request wait for a slot of our leaky bucket."""

    async def on_request_start(session: Any, context: SimpleNamespace, params: Any) -> None:
        await asyncio.sleep(client.pacer.reserve())

    async def on_request_done(session: Any, context: SimpleNamespace, params: Any) -> None:
        client.pacer.answered()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    trace.on_request_end.append(on_request_done)
    trace.on_request_exception.append(on_request_done)
    return trace


async def _get_all(client: B24Client, method: str, params: Mapping[str, Any] | None) -> list[Any]:
    connect, read = client.timeout
    timeout = aiohttp.ClientTimeout(sock_connect=connect, sock_read=read)
    async with aiohttp.ClientSession(raise_for_status=True, timeout=timeout,
                                     trace_configs=[_paced(client)]) as session:
        bitrix = BitrixAsync(client.endpoint, token_func=_TokenBridge(client).token if client.uses_oauth else None,
                             verbose=False, request_pool_size=client.limits.burst,
                             requests_per_second=client.limits.requests_per_s,
                             operating_time_limit=max(1, int(client.limits.operating_budget_s)),
                             client=session)
        result = await bitrix.get_all(method, dict(params) if params else None)
    return list(result.values()) if isinstance(result, dict) else list(result)


def fb24_get_all(client: B24Client, method: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    """fast-bitrix24's `get_all` (offset pages, 50 per batch) with our pacer, tokens and errors."""
    logging.getLogger("fast_bitrix24").setLevel(logging.WARNING)
    try:
        return asyncio.run(_get_all(client, method, params))
    except B24Error:
        raise
    except ErrorInServerResponseException as error:
        raise api_error("", f"{method}: errors in a list page: {str(error)[:200]}") from None
    except aiohttp.ClientResponseError as error:
        raise api_error("", f"HTTP {error.status} from {method}", status=error.status) from None
    except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError) as error:
        raise B24TransportError(f"{method}: {type(error).__name__}") from None
