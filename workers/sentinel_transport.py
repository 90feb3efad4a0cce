"""Kombu's Sentinel transport, made to survive the failover it exists for.

When the primary dies under a worker, Celery closes the broker connection; closing a channel
restores its unacknowledged messages, which needs a connection pool. Kombu's Sentinel channel
has dropped its pool by then and builds a new one from the connection (its parameters, its
sentinels), which the closing connection has already let go of (`'NoneType' object has no
attribute 'hostname'` or `'alt'`: an "Unrecoverable error" that stops the worker). This transport
keeps its connection, so the restore goes to the new primary and the worker reconnects by itself.
"""
from __future__ import annotations

from kombu.transport import redis as kombu_redis


class SentinelTransport(kombu_redis.SentinelTransport):
    _client = None

    @property
    def client(self):
        return self._client

    @client.setter
    def client(self, value):
        if value is not None:  # Connection.close() sets None; a closing channel still needs it
            self._client = value
