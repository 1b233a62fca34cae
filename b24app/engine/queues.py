"""Queue names: one durable queue per portal for its calls, one for scheduled jobs.

Per-portal queues give fairness: a worker consumes all of them with prefetch 1, and the broker
delivers from the queues that have messages in turn, so a portal with 50,000 waiting calls gets
its share and no more (RabbitMQ docs: "Consumer Prefetch", "Queues").
"""
from __future__ import annotations

from kombu import Exchange, Queue

EXCHANGE = Exchange("b24app", type="direct", durable=True)
JOBS = Queue("b24app.jobs", EXCHANGE, routing_key="jobs", durable=True)


def portal_queue(member_id: str) -> Queue:
    return Queue(f"b24app.portal.{member_id}", EXCHANGE, routing_key=f"portal.{member_id}", durable=True)
