"""How every process reaches Redis: the one place that turns REDIS_URL (and, with Sentinel,
REDIS_SENTINELS and REDIS_SENTINEL_MASTER) into redis-py clients and Celery's broker settings.

REDIS_URL: `redis://[user:password@]host:port/db` or `rediss://...` for TLS, whose query may name
`ssl_cert_reqs` (required, optional, none), `ssl_ca_certs`, and a client certificate
(`ssl_certfile`, `ssl_keyfile`). With Sentinel the URL's host is not used: the sentinels name the
primary, and the URL gives the database, the ACL user, its password and the TLS options. The
sentinels themselves are asked without a password or TLS (as Kombu asks them by default).
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

SSL_OPTIONS = ("ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
_CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}
TIMEOUTS = {"socket_timeout": 5, "socket_connect_timeout": 3}


class RedisUrlError(ValueError):
    """REDIS_URL or REDIS_SENTINELS cannot be used; str() names the part that is wrong."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    db: int
    username: str | None
    password: str | None
    tls: dict | None  # the SSL_OPTIONS given, as redis-py and Kombu take them
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str | None = None

    def client_kwargs(self) -> dict:
        """What redis-py's Redis (or Sentinel.master_for) takes, besides host and port."""
        kwargs = dict(TIMEOUTS, db=self.db, username=self.username, password=self.password,
                      health_check_interval=30)
        if self.tls is not None:
            kwargs.update(ssl=True, **self.tls)
        return kwargs


def parse(url: str, sentinels: str | None = None, master: str | None = None) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise RedisUrlError("REDIS_URL: a redis:// or rediss:// URL")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - set(SSL_OPTIONS))
    if unknown:
        raise RedisUrlError(f"REDIS_URL: unknown option {unknown[0]} (known: {', '.join(SSL_OPTIONS)})")
    tls = None
    if parts.scheme == "rediss":
        tls = dict(query)
        reqs = tls.get("ssl_cert_reqs", "required")
        if reqs not in _CERT_REQS:
            raise RedisUrlError("REDIS_URL: ssl_cert_reqs is required, optional or none")
        tls["ssl_cert_reqs"] = _CERT_REQS[reqs]
        if ("ssl_certfile" in tls) != ("ssl_keyfile" in tls):
            raise RedisUrlError("REDIS_URL: ssl_certfile and ssl_keyfile go together")
    elif query:
        raise RedisUrlError("REDIS_URL: TLS options need a rediss:// URL")
    path = parts.path.strip("/") or "0"
    if not path.isdigit():
        raise RedisUrlError("REDIS_URL: the path is a database number")
    try:
        port = parts.port or 6379
    except ValueError:
        raise RedisUrlError("REDIS_URL: the port is not a number") from None
    return Target(host=parts.hostname or "localhost", port=port, db=int(path),
                  username=unquote(parts.username) if parts.username else None,
                  password=unquote(parts.password) if parts.password else None,
                  tls=tls, sentinels=parse_sentinels(sentinels) if sentinels else (),
                  master=master if sentinels else None)


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    found = []
    for item in (v.strip() for v in value.split(",")):
        host, _, port = item.rpartition(":")
        if not item or not host or not port.isdigit():
            raise RedisUrlError("REDIS_SENTINELS: comma-separated host:port pairs")
        found.append((host, int(port)))
    return tuple(found)


def target_of(settings) -> Target:
    return parse(settings.redis_url, settings.redis_sentinels, settings.redis_sentinel_master)


def connect(settings) -> redis.Redis:
    """A client of the primary; with Sentinel it asks the sentinels again after a failover."""
    t = target_of(settings)
    if not t.sentinels:
        return redis.Redis(host=t.host, port=t.port, **t.client_kwargs())
    return sentinel_of(t).master_for(t.master, **t.client_kwargs())


def sentinel_of(t: Target) -> Sentinel:
    return Sentinel(list(t.sentinels), sentinel_kwargs=dict(TIMEOUTS))


def celery_broker(settings) -> dict:
    """Celery's broker settings: URL, TLS, and with Sentinel the master's name."""
    t = target_of(settings)
    auth = ""
    if t.username or t.password:
        auth = f"{quote(t.username or '', safe='')}:{quote(t.password or '', safe='')}@"
    if t.sentinels:
        url = ";".join(f"sentinel://{auth}{host}:{port}/{t.db}" for host, port in t.sentinels)
        options = {"master_name": t.master, "sentinel_kwargs": dict(TIMEOUTS)}
    else:
        url = f"{'rediss' if t.tls is not None else 'redis'}://{auth}{t.host}:{t.port}/{t.db}"
        options = {}
    return {"broker_url": url, "broker_use_ssl": dict(t.tls) if t.tls is not None else None,
            "transport_options": options}
