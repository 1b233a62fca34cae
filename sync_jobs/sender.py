"""Sending a run's commands: outcomes one by one, writes counted, fatal refusals stop the run."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from b24app.bitrix import B24Client, Command, CommandOutcome
from b24app.bitrix.pacing import BATCH_MAX

from sync_jobs.desired import Skipped
from sync_jobs.errors import SyncFatal, classify, reason
from sync_jobs.store import MappingStore

MAX_ROUNDS = 4  # sends of one create before its outcome is left to the next run's reconciliation
READ_VERBS = ("get", "list", "fields")


def chunks(items: Sequence[Any], size: int = BATCH_MAX) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _is_write(method: str) -> bool:
    return method.rsplit(".", 1)[-1].lower() not in READ_VERBS


@dataclass
class Report:
    """What a run did: counts of confirmed writes, records left out, write commands sent."""

    counts: dict[str, int] = field(default_factory=dict)
    records: list[Skipped] = field(default_factory=list)
    write_commands: int = 0
    first_write_at: float | None = None  # time.monotonic() when the portal answered the plan's first write

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def skip(self, kind: str, key: str, title: str, why: str) -> None:
        self.records.append(Skipped(kind, key, title, why))


class Sender:
    """Sends commands, counts the writes and stops the run on a fatal per-command error."""

    def __init__(self, client: B24Client, store: MappingStore, report: Report,
                 on_outcome: Callable[[], None] = lambda: None) -> None:
        self.client = client
        self.store = store
        self.report = report
        self.on_outcome = on_outcome

    def send(self, commands: Iterable[Command]) -> Iterator[CommandOutcome]:
        """Outcomes of ``commands``; per-command errors are classified, fatal ones stop the run."""
        for outcome in self.client.run_commands(commands):
            if _is_write(outcome.command.method):
                self.report.write_commands += 1
                self.on_outcome()
            if outcome.status == "error" and classify(outcome.error, per_command=True) == "fatal":
                self.store.flush()
                raise SyncFatal(f"Битрикс24 отказал: {reason(outcome.error)}")
            yield outcome

    def error(self, outcome: CommandOutcome, kind: str, key: str, title: str) -> None:
        self.report.skip(kind, key, title, reason(outcome.error))
        self.report.count("errors")


    def left_pending(self, kind: str, items: list[tuple[str, str]]) -> None:
        """Creates whose outcome stayed unknown: the next run's reconciliation settles them."""
        for key, title in items:
            self.report.skip(kind, key, title, reason(None))
            self.report.count("unknown")


