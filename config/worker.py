"""The Celery worker's consumer, with a workaround for a crash on broker loss.

Celery 5.7.0 (with kombu 5.7.0 and the Redis transport) exits with "Unrecoverable
error: AttributeError('NoneType' object has no attribute 'hostname')" when Redis goes
away while a task with late acknowledgement runs. `Consumer.on_connection_error_after_
connected` now calls `connection.collect()` and then `connection.close()`. `collect()`
drops the transport's link to its connection (`transport.client = None`) but leaves the
default channel open; `close()` then closes that channel, which tries to put the unacked
message back on the queue, which builds a Redis pool from `transport.client.hostname`.
The AttributeError is not a connection error, so `ignore_errors` lets it through and the
worker stops. (Celery 5.6.3 only called `collect()`.)

The worker also acks, on the old channel, the task that was running once it finishes
(after the reconnect): the same lookup, the same crash.

The workaround: on that path, the old transport keeps its link to the connection, so
the channels left open can still reach Redis (to put unacked messages back, or to ack
a task that finished): while Redis is down that is a connection error, which Celery
logs and survives. Remove this module (and CELERY_WORKER_CONSUMER in
config/settings.py) once Celery closes the channel before collecting;
tests/engine/test_broker_outage.py says whether it is still needed.
"""

from __future__ import annotations

from celery.worker.consumer import Consumer as CeleryConsumer


class Consumer(CeleryConsumer):
    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:
            connection.collect = _collect_keeping_client(connection)
        super().on_connection_error_after_connected(exc)


def _collect_keeping_client(connection):
    collect = connection.collect
    transport = connection.transport

    def collect_keeping_client(*args, **kwargs):
        collect(*args, **kwargs)
        transport.client = connection  # where the open channels find Redis's address

    return collect_keeping_client
