"""The task engine for many machines: Celery over RabbitMQ, the limits of each portal shared in Redis.

``cluster.engine: embedded`` (the default) keeps everything in one process: the inbox is polled by
``b24app.worker`` and the scheduler runs jobs itself. ``cluster.engine: celery``:

- intake commits the call to the inbox (durable before the 200, group commit), then the web process
  publishes a ``process_items`` task to the portal's own durable queue with publisher confirms
  (``publisher``); the broker's confirmation is written back as ``enqueued_at``;
- workers (``b24app worker --engine celery``) consume every portal's queue; the broker hands out the
  queues' messages in turn, so one portal's burst does not starve the others (``queues``); a task
  leases its inbox item, so a task delivered twice runs the item once (``tasks``); late
  acknowledgement returns a killed worker's task to its queue;
- the sweeper (in the scheduler) publishes again what was accepted but never confirmed — a web
  process killed between commit and publish, a broker down — and whatever a dead worker held;
- the scheduler fires each job once across replicas (a compare-and-set on the job's fire row) and
  publishes ``run_job``; a worker runs it under the job's lease (``scheduler``).
"""
