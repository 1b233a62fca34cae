"""The Celery app of a Flask app: RabbitMQ broker, durable queues, confirms, late acknowledgement.

Celery docs ("Configuration and defaults"): ``task_acks_late`` + ``task_reject_on_worker_lost``
return a task whose worker died to its queue; ``worker_prefetch_multiplier = 1`` keeps a worker
from hoarding one portal's messages; ``confirm_publish`` makes a publish return only once RabbitMQ
has the message (RabbitMQ docs: "Consumer Acknowledgements and Publisher Confirms"). No result
backend: the inbox and the job locks in the database are the record of what ran.
"""
from __future__ import annotations

from celery import Celery
from flask import Flask

from b24app.engine.queues import JOBS
from b24app.portal import get_config


def make_celery(app: Flask) -> Celery:
    settings = get_config(app).cluster
    celery = Celery("b24app", broker=settings.broker_url, set_as_current=False)
    celery.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=JOBS.name, task_queues=(JOBS,), task_default_delivery_mode="persistent",
        task_serializer="json", accept_content=["json"], task_ignore_result=True, result_backend=None,
        broker_transport_options={"confirm_publish": True}, broker_connection_retry_on_startup=True,
        broker_heartbeat=10, worker_hijack_root_logger=False, worker_send_task_events=False,
        task_send_sent_event=False, worker_enable_remote_control=True, broker_pool_limit=4,
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )
    celery.flask_app = app  # type: ignore[attr-defined]
    from b24app.engine import tasks

    tasks.register(celery)
    return celery


def get_celery(app: Flask) -> Celery:
    """The app's Celery app, made once."""
    celery = app.extensions.get("b24app.celery")
    if celery is None:
        celery = app.extensions["b24app.celery"] = make_celery(app)
    return celery
