"""The one Bitrix24 REST client: single calls, batches with per-command outcomes, paced bulk writes, lists.

fast-bitrix24 is the chosen client and serves full-list reads of small lists (`get_all` fallback,
`fb24.py`). It cannot serve the call/batch/write path, which is therefore a thin requests + tenacity
layer (issue 2 item 7):
- it retries every 5xx, timeout and connection error, with no opt-out: a `user.add` batch that timed
  out after running would be sent again (duplicates);
- its aiohttp session uses `raise_for_status=True`, so 4xx bodies are lost: no error code/description,
  `invalid_token` and `expired_token` look alike and a dead token loops forever (fast_bitrix24 issue #125);
- its operating-time throttler never sees the per-command `result_time` of batches;
- `call_batch` raises on the first `result_error` and drops the successes.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity import wait_random_exponential

from b24app.metrics import REST_REQUESTS, REST_WAIT_SECONDS

from .commands import Command, CommandOutcome, is_idempotent, run_commands
from .encoding import command_string, to_bitrix
from .errors import (B24APIError, B24BadResponse, B24ConnectionError, B24Error, B24OperationTimeLimit,
                     B24QueryLimitExceeded, B24RefusedError, B24Timeout, B24TokenExpired, api_error,
                     is_ambiguous)
from .lists import get_all
from .pacing import BATCH_MAX, OperatingGovernor, RateLimits, RequestPacer

log = logging.getLogger(__name__)

Params = Mapping[str, Any]
USER_AGENT = "b24app/0.1"


class TokenProvider(Protocol):
    """Where OAuth access tokens come from (implemented by `b24app.bitrix.tokens`)."""

    def current(self) -> str: ...

    def refresh(self, stale_token: str) -> str:
        """Single-flight: return the stored token if it differs from `stale_token`, else refresh it."""
        ...


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


@dataclass(frozen=True)
class CallTime:
    """The `time` block of one call: server time spent and the method's operating-time state."""

    processing: float = 0.0
    operating: float | None = None
    reset_in: float | None = None  # operating_reset_at minus the server's clock at the answer

    @classmethod
    def from_json(cls, data: Any) -> CallTime | None:
        if not isinstance(data, Mapping):
            return None
        reset_at = _number(data.get("operating_reset_at"))
        server_now = _number(data.get("finish")) or time.time()
        return cls(processing=_number(data.get("processing")) or _number(data.get("duration")) or 0.0,
                   operating=_number(data.get("operating")),
                   reset_in=None if reset_at is None else reset_at - server_now)


@dataclass(frozen=True)
class Result:
    """One call's answer; `total`/`next` are set for list methods."""

    result: Any
    total: int | None = None
    next: int | None = None
    time: CallTime | None = None


@dataclass
class BatchResult:
    """Per-command outcome of one `batch` request; every label lands in exactly one of
    `results`, `errors`, `unknown` (may or may not have run) or `skipped` (not run, after `halt`)."""

    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, B24APIError] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    nexts: dict[str, int] = field(default_factory=dict)
    times: dict[str, CallTime] = field(default_factory=dict)
    failure: B24Error | None = None  # why `unknown` is not empty


def _section(value: Any) -> dict[str, Any]:
    """A batch section as a dict: PHP sends `[]` when empty and a list for keys 0..n-1."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, list):
        return {str(index): item for index, item in enumerate(value)}
    return {}


def _command_error(value: Any) -> B24APIError:
    if isinstance(value, Mapping):
        return api_error(str(value.get("error") or ""), str(value.get("error_description") or ""),
                         extra={k: v for k, v in value.items() if k not in ("error", "error_description")})
    return api_error("", str(value))


def _parse_batch(payload: Any, labels: Iterable[str], halt: bool) -> BatchResult:
    sections = payload if isinstance(payload, Mapping) else {}
    results = _section(sections.get("result"))
    errors = {label: _command_error(item) for label, item in _section(sections.get("result_error")).items()}
    times = {label: parsed for label, item in _section(sections.get("result_time")).items()
             if (parsed := CallTime.from_json(item)) is not None}
    missing = [label for label in labels if label not in results and label not in errors]
    return BatchResult(
        results=results, errors=errors, times=times,
        totals={k: int(v) for k, v in _section(sections.get("result_total")).items() if _integer(v) is not None},
        nexts={k: int(v) for k, v in _section(sections.get("result_next")).items() if _integer(v) is not None},
        skipped=missing if halt else [], unknown=[] if halt else missing)


def _decode(response: requests.Response) -> dict[str, Any]:
    """The JSON envelope of `response`, or the typed error it carries."""
    content_type = response.headers.get("Content-Type", "")
    try:
        body = response.json()
    except ValueError:
        raise B24BadResponse(response.status_code, content_type, response.text[:200]) from None
    if not isinstance(body, dict):
        raise B24BadResponse(response.status_code, content_type, response.text[:200])
    if "error" in body:
        extra = {key: value for key, value in body.items() if key not in ("error", "error_description")}
        raise api_error(str(body["error"] or ""), str(body.get("error_description") or ""),
                        status=response.status_code, extra=extra)
    if response.status_code >= 400:
        raise B24BadResponse(response.status_code, content_type, response.text[:200])
    return body


def _may_resend(error: BaseException, idempotent: bool) -> bool:
    """The retry rule: refusals always, ambiguous failures only for idempotent requests."""
    if isinstance(error, B24RefusedError):
        return True
    return idempotent and isinstance(error, B24Error) and is_ambiguous(error)


def _check_labels(commands: Mapping[str, Any]) -> None:
    if len(commands) > BATCH_MAX:
        raise ValueError(f"a batch holds at most {BATCH_MAX} commands, got {len(commands)}")
    numeric = [label for label in commands if str(label).lstrip("-").isdigit()]
    if numeric:
        raise ValueError(f"batch labels must not be numeric (PHP turns them into a list): {numeric[:3]}")


class B24Client:
    """A portal's REST API, paced to the plan's limits; thread-safe.

    `endpoint` is either the portal's `client_endpoint` (`https://portal/rest/`, OAuth: pass `tokens`)
    or an incoming-webhook URL `https://portal/rest/<user>/<code>/` (pass `webhook=True`).
    """

    def __init__(self, endpoint: str, *, tokens: TokenProvider | None = None, webhook: bool = False,
                 plan_limits: RateLimits = RateLimits(), timeout: tuple[float, float] = (5, 60),
                 max_attempts: int = 6, session: requests.Session | None = None,
                 pacer: RequestPacer | None = None, governor: OperatingGovernor | None = None) -> None:
        if webhook == (tokens is not None):
            raise ValueError("pass tokens= for an OAuth endpoint, or webhook=True for a webhook URL")
        self.endpoint = endpoint if endpoint.endswith("/") else endpoint + "/"
        self.limits = plan_limits
        self._tokens = tokens
        self.timeout = timeout
        self._max_attempts = max_attempts
        self._session = session or requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # in-process by default; shared through Redis when many processes call the portal (bitrix/shared.py)
        self.pacer = pacer or RequestPacer(plan_limits)
        self.governor = governor or OperatingGovernor(plan_limits)

    def __enter__(self) -> B24Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # -- single calls ----------------------------------------------------------------------------

    def call(self, method: str, params: Params | None = None) -> Result:
        """Call `method` once; waits out the method's operating-time budget if it is spent.

        Refusals (503/429) are retried; timeouts, resets and 5xx are retried only for idempotent
        methods (see `is_idempotent`); any other error raises its `B24APIError` subclass.
        """
        _wait(self.governor.delay(method), "operating_time")
        body = self._post(method, to_bitrix(params or {}), idempotent=is_idempotent(method))
        call_time = CallTime.from_json(body.get("time"))
        self._observe(method, call_time)
        return Result(body.get("result"), _integer(body.get("total")), _integer(body.get("next")), call_time)

    # -- batch -----------------------------------------------------------------------------------

    def batch(self, commands: Mapping[str, tuple[str, Params | None]], *, halt: bool = False) -> BatchResult:
        """Run up to 50 labelled commands in one request; never loses a command's outcome.

        Labels must be non-numeric. If the request fails ambiguously (timeout, reset, 5xx, HTML page)
        a batch of idempotent commands is resent; a batch holding any non-idempotent command
        (`*.add`, `sonet_group.create`, ...) is NOT resent: all its labels come back in `unknown`
        (with `failure` set) and the caller must reconcile them by a natural key (XML_ID, EMAIL)
        before sending them again. Commands refused with OPERATION_TIME_LIMIT are in `errors`.
        """
        _check_labels(commands)
        if not commands:
            return BatchResult()
        cmd = {label: command_string(method, params) for label, (method, params) in commands.items()}
        idempotent = all(is_idempotent(method) for method, _ in commands.values())
        try:
            body = self._post("batch", {"halt": int(halt), "cmd": cmd}, idempotent=idempotent)
        except B24Error as error:
            if idempotent or not is_ambiguous(error):
                raise
            return BatchResult(unknown=list(commands), failure=error)
        outcome = _parse_batch(body.get("result"), commands, halt)
        self._observe_batch(commands, outcome)
        return outcome

    def run_commands(self, commands: Iterable[Command], *, max_in_flight: int = 1) -> Iterator[CommandOutcome]:
        """Send `commands` in batches of 50 at the plan's limits; yield one outcome per command.

        See `b24app.bitrix.commands.run_commands` for the contract (ordering, `unknown` outcomes).
        """
        return run_commands(self, commands, max_in_flight=max_in_flight)

    # -- lists -----------------------------------------------------------------------------------

    def get_all(self, method: str, params: Params | None = None) -> list[Any]:
        """Every row of a list method (see `b24app.bitrix.lists.get_all` for the strategy)."""
        return get_all(self, method, params)

    # -- the request path ------------------------------------------------------------------------

    def _observe(self, method: str, call_time: CallTime | None) -> None:
        if call_time is not None:
            self.governor.observe(method, operating=call_time.operating, reset_in=call_time.reset_in,
                                  cost=call_time.processing)

    def _observe_batch(self, commands: Mapping[str, tuple[str, Any]], outcome: BatchResult) -> None:
        for label, (method, _) in commands.items():
            self._observe(method, outcome.times.get(label))
        for label, error in outcome.errors.items():
            if isinstance(error, B24OperationTimeLimit) and label in commands:
                self.governor.block(commands[label][0])

    @property
    def uses_oauth(self) -> bool:
        return self._tokens is not None

    def access_token(self) -> str | None:
        """The token requests are sent with now (None for a webhook)."""
        return self._tokens.current() if self._tokens else None

    def refresh_token(self, stale_token: str | None) -> str | None:
        """Swap a rejected token for a fresh one (None for a webhook)."""
        return self._tokens.refresh(stale_token) if self._tokens and stale_token else None

    def _post(self, method: str, body: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """POST `body` to `method`; retries what is safe, refreshes an expired token once."""
        token = self.access_token()
        try:
            return self._retrying(method, idempotent)(self._send, method, body, token)
        except B24TokenExpired:
            if self._tokens is None:
                raise
            fresh = self.refresh_token(token)
            return self._retrying(method, idempotent)(self._send, method, body, fresh)

    def _retrying(self, method: str, idempotent: bool) -> Retrying:
        """The client's one retry policy (see `_may_resend`)."""
        return Retrying(retry=retry_if_exception(lambda error: _may_resend(error, idempotent)),
                        wait=self._backoff(method), stop=stop_after_attempt(self._max_attempts),
                        before_sleep=_log_retry(method), reraise=True)

    def _backoff(self, method: str) -> Any:
        exponential = wait_random_exponential(multiplier=1 / self.limits.requests_per_s, max=30)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, B24OperationTimeLimit):
                self.governor.block(method)
                return self.governor.delay(method)
            if isinstance(error, B24QueryLimitExceeded):
                self.pacer.saturate()
            return exponential(state)

        return wait

    def _send(self, method: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        """One HTTP attempt. Exceptions never carry the URL (a webhook URL holds its secret)."""
        _wait(self.pacer.reserve(), "request_rate")
        payload = body if token is None else {**body, "auth": token}
        try:
            response = self._session.post(self.endpoint + method, json=payload or None, timeout=self.timeout)
        except requests.Timeout as error:
            REST_REQUESTS.labels(method, "timeout").inc()
            raise B24Timeout(f"{method}: {type(error).__name__}") from None
        except requests.RequestException as error:
            REST_REQUESTS.labels(method, "connection").inc()
            raise B24ConnectionError(f"{method}: {type(error).__name__}") from None
        finally:
            self.pacer.answered()
        log.debug("bitrix24 %s -> HTTP %s", method, response.status_code)
        try:
            decoded = _decode(response)
        except B24APIError as error:
            REST_REQUESTS.labels(method, error.code or f"http_{response.status_code}").inc()
            raise
        except B24Error:
            REST_REQUESTS.labels(method, f"http_{response.status_code}").inc()
            raise
        REST_REQUESTS.labels(method, "ok").inc()
        return decoded


def _wait(seconds: float, limit: str) -> None:
    """Sleep out a limit of the portal, counted in the metrics."""
    if seconds > 0:
        REST_WAIT_SECONDS.labels(limit).inc(seconds)
        time.sleep(seconds)


def _log_retry(method: str) -> Any:
    """A tenacity `before_sleep` hook that logs the code, never the description or parameters."""

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        code = getattr(error, "code", None) or type(error).__name__
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("bitrix24 %s: %s, attempt %d, retrying in %.2f s", method, code,
                    state.attempt_number, wait)

    return before_sleep
