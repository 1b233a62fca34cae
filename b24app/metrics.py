"""The service's Prometheus metrics (prometheus_client), one definition each.

In ``b24app web`` (gunicorn, several processes) PROMETHEUS_MULTIPROC_DIR is set before the workers
fork, so ``/metrics`` adds up every process (prometheus_client's multiprocess mode); elsewhere the
process's own registry is exposed. Labels are bounded: REST method names the code calls, error
codes Bitrix24 defines, endpoint names of the app's routes.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram

REST_REQUESTS = Counter("b24app_rest_requests", "Bitrix24 REST requests by method and outcome (ok or error code)",
                        ["method", "outcome"])
REST_WAIT_SECONDS = Counter("b24app_rest_wait_seconds",
                            "Seconds spent waiting for the portal's limits (request rate, method operating time)",
                            ["limit"])
TOKEN_REFRESHES = Counter("b24app_token_refreshes", "OAuth token refreshes by result", ["result"])
ACTIVITY_ANSWER_SECONDS = Histogram("b24app_activity_answer_seconds",
                                    "From an app-activity callback's arrival to its answer sent", ["code"],
                                    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600))
PAGE_SECONDS = Histogram("b24app_request_seconds", "Server time of the app's HTTP requests", ["endpoint"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
SYNC_RECORDS = Counter("b24app_sync_records", "Records written by the 1C -> Bitrix24 sync, by kind", ["kind"])
