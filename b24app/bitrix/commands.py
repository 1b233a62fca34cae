"""Bulk writes at the plan's limits: many commands -> batches of 50 -> one outcome per command."""
from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import B24Error, B24RefusedError, is_ambiguous
from .pacing import BATCH_MAX

if TYPE_CHECKING:
    from .client import B24Client, BatchResult

IDEMPOTENT_VERBS = frozenset({"get", "list", "fields", "current", "search", "update", "delete", "set",
                              "info", "version", "count"})
"""Last name segments of methods that may be resent safely; every other method counts as a create."""
LOOKAHEAD = 5000  # commands read ahead from the caller so blocked methods can be overtaken
IDLE_MIN_S = 0.001
IDLE_POLL_S = 0.01  # how soon a paused caller is asked again when nothing else waits


def is_idempotent(method: str) -> bool:
    """May `method` run twice without harm? (`*.add`, `*.create`, `*.start`, ... may not.)"""
    name = method.lower()
    return name != "batch" and name.rsplit(".", 1)[-1] in IDEMPOTENT_VERBS


@dataclass(frozen=True)
class Command:
    """One REST call to make; `ref` is the caller's key (e.g. a 1C ref), handed back in the outcome."""

    method: str
    params: Mapping[str, Any] | None = None
    ref: Any = None


PAUSE = Command("")
"""Yielded by a caller whose next commands depend on outcomes or data still to come: nothing more for now,
ask again (after sending what waits, or after IDLE_POLL_S when nothing does)."""


@dataclass(frozen=True)
class CommandOutcome:
    """`ok` with `result`; `error` with the typed `error`; `unknown`: may or may not have run."""

    command: Command
    status: Literal["ok", "error", "unknown"]
    result: Any = None
    error: B24Error | None = None


class _Backlog:
    """Commands waiting to be sent, one FIFO per method, read lazily from the caller's iterable."""

    def __init__(self, commands: Iterable[Command], lookahead: int) -> None:
        self._source = iter(commands)
        self._lookahead = lookahead
        self._queues: dict[str, deque[Command]] = {}
        self._size = 0
        self._exhausted = False
        self.paused = False  # the caller said PAUSE at the last fill: it may have more soon
        self._rounds = itertools.count()

    @property
    def done(self) -> bool:
        self.fill()
        return self._exhausted and self._size == 0

    def fill(self) -> None:
        self.paused = False
        while self._size < self._lookahead and not self._exhausted:
            command = next(self._source, None)
            if command is None:
                self._exhausted = True
            elif command is PAUSE:
                self.paused = True
                return
            else:
                self._queues.setdefault(command.method.lower(), deque()).append(command)
                self._size += 1

    def methods(self) -> list[str]:
        """Methods with waiting commands, rotated each round so none is starved."""
        waiting = [method for method, queue in self._queues.items() if queue]
        shift = next(self._rounds) % len(waiting) if waiting else 0
        return waiting[shift:] + waiting[:shift]

    def take(self, method: str, count: int) -> list[Command]:
        queue = self._queues[method]
        taken = [queue.popleft() for _ in range(min(count, len(queue)))]
        self._size -= len(taken)
        return taken

    def requeue(self, commands: list[Command]) -> None:
        """Put commands back at the front of their queues, keeping their order."""
        for command in reversed(commands):
            self._queues.setdefault(command.method.lower(), deque()).appendleft(command)
        self._size += len(commands)


def _next_batch(client: B24Client, backlog: _Backlog) -> list[Command]:
    """Up to 50 commands of the methods whose operating-time budget allows them now."""
    backlog.fill()
    picked: list[Command] = []
    for method in backlog.methods():
        room = BATCH_MAX - len(picked)
        if room <= 0:
            break
        picked += backlog.take(method, min(room, client.governor.allowance(method)))
    return picked


def _idle_delay(client: B24Client, backlog: _Backlog) -> float:
    """Every waiting method is out of budget: sleep until the first one is available again (a paused
    caller with nothing waiting is asked again after IDLE_POLL_S)."""
    delay = min((client.governor.delay(method) for method in backlog.methods()), default=IDLE_POLL_S)
    return max(IDLE_MIN_S, min(delay, IDLE_POLL_S) if backlog.paused else delay)


def _method_counts(commands: Iterable[Command]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for command in commands:
        counts[command.method] = counts.get(command.method, 0) + 1
    return counts


def _settle(outcome: BatchResult, labelled: dict[str, Command], backlog: _Backlog) -> Iterator[CommandOutcome]:
    """Report each command of a finished batch; refused or safely resendable ones go back in line."""
    resend: list[Command] = []
    for label, command in labelled.items():
        error = outcome.errors.get(label)
        if label in outcome.results:
            yield CommandOutcome(command, "ok", result=outcome.results[label])
        elif error is not None and is_ambiguous(error) and not is_idempotent(command.method):
            yield CommandOutcome(command, "unknown", error=error)  # a 5xx for one command may still have run
        elif error is not None and not isinstance(error, B24RefusedError):
            yield CommandOutcome(command, "error", error=error)
        elif error is not None or is_idempotent(command.method):
            resend.append(command)
        else:
            yield CommandOutcome(command, "unknown", error=outcome.failure)
    backlog.requeue(resend)


def run_commands(client: B24Client, commands: Iterable[Command], *,
                 max_in_flight: int = 1) -> Iterator[CommandOutcome]:
    """Send `commands` in batches of up to 50 at the plan's limits, yielding one outcome per command.

    Contract:
    - commands must be independent of each other: order is kept within a method, not across methods;
      a method whose operating-time budget is spent is overtaken by the others (budgets are per method);
    - OPERATION_TIME_LIMIT / QUERY_LIMIT_EXCEEDED refusals are resent after the method's reset;
    - after an ambiguous failure (timeout, reset, 5xx, HTML) idempotent commands are resent and
      non-idempotent ones (`*.add`, `sonet_group.create`, ...) are reported `unknown` and NOT resent:
      reconcile them by a natural key (XML_ID, EMAIL) before sending them again;
    - fatal errors (dead token, access denied for the whole request) raise out of the iterator;
      outcomes already yielded stand, commands not yet reported were not confirmed.
    """
    backlog = _Backlog(commands, LOOKAHEAD)
    labels = (f"c{number}" for number in itertools.count())
    in_flight: dict[Future[BatchResult], dict[str, Command]] = {}
    with ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="b24-batch") as pool:
        while in_flight or not backlog.done:
            while len(in_flight) < max_in_flight and (picked := _next_batch(client, backlog)):
                labelled = dict(zip(labels, picked))
                for method, count in _method_counts(picked).items():
                    client.governor.dispatch(method, count)
                batch = {label: (command.method, command.params) for label, command in labelled.items()}
                in_flight[pool.submit(client.batch, batch)] = labelled
            if not in_flight:
                time.sleep(_idle_delay(client, backlog))
                continue
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                labelled = in_flight.pop(future)
                for method, count in _method_counts(labelled.values()).items():
                    client.governor.settle(method, count)
                yield from _settle(future.result(), labelled, backlog)
