"""Loaded only by CI's faketime runs (PYTHONPATH=.ci/faketime): a time.sleep that libfaketime cannot break.

libfaketime 0.9.10 either hangs every timed wait of Python (when it fakes the monotonic clock) or
makes time.sleep fail with EINVAL (when it leaves the monotonic clock real, as CI runs it), because
it mishandles clock_nanosleep with an absolute deadline. select() with a timeout sleeps the same.
"""
import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)


time.sleep = _sleep
