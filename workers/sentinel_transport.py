"""Kombu's Sentinel transport, made to survive the failover it exists for.

When the primary dies under a worker, Celery closes the broker connection; closing a channel
restores its unacknowledged messages, which needs a connection pool. Kombu's Sentinel channel
has dropped its pool by then and builds a new one from the connection's parameters, which the
closing connection has already let go (`'NoneType' object has no attribute 'hostname'`, an
"Unrecoverable error" that stops the worker). This channel keeps the parameters it last built,
so the restore goes to the new primary and the worker reconnects by itself.
"""
from __future__ import annotations

from kombu.transport import redis as kombu_redis


class SentinelChannel(kombu_redis.SentinelChannel):
    _kept_params: dict | None = None

    def _connparams(self, asynchronous=False):
        if self.connection.client is None and self._kept_params is not None:
            return dict(self._kept_params.get(asynchronous) or self._kept_params[False])
        params = super()._connparams(asynchronous)
        self._kept_params = {**(self._kept_params or {}), asynchronous: dict(params)}
        return params


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
