"""Outgoing POSTs to applications (events, activity callbacks): one background thread, no retries."""
from __future__ import annotations

import queue
import threading
from typing import Any

import requests

from .phpcodec import build_query

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Bitrix24 Webhook Engine"}


def post_form(url: str, data: dict[str, Any], timeout_s: float) -> requests.Response:
    """POST ``data`` form-encoded with PHP bracket keys, the way the portal's queue does (REST docs:
    api-reference/events/index.md shows the array; [not in the docs: the encoding, which bitrix24/b24phpsdk
    reads with ``parse_str``])."""
    return requests.post(url, data=build_query(data).encode(), headers=FORM_HEADERS, timeout=timeout_s)


class Dispatcher:
    """A queue of deliveries; each is tried once (REST docs: api-reference/events/index.md) and logged without
    its auth block."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        self.log: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="b24-emulator-dispatcher", daemon=True)
        self._thread.start()

    def submit(self, url: str, data: dict[str, Any]) -> None:
        self._queue.put((url, data))

    def flush(self) -> None:
        """Block until everything submitted so far was delivered (or failed)."""
        self._queue.join()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, url: str, data: dict[str, Any]) -> None:
        entry: dict[str, Any] = {"url": url, "event": data.get("event"),
                                 "data": {key: value for key, value in data.items() if key != "auth"}}
        try:
            entry["status"] = post_form(url, data, self.timeout_s).status_code
        except requests.RequestException as error:
            entry["status"] = None
            entry["error"] = type(error).__name__
        self.log.append(entry)
