"""REDIS_URL, REDIS_SENTINELS and REDIS_SENTINEL_MASTER as every process reads them
(integration/store/connection.py), and the retry scheduling that waits in Redis (workers/due.py)."""
from __future__ import annotations

import ssl

import pytest
from celery import Celery

from integration.store import keys
from integration.store.connection import celery_broker, parse
from integration.settings.declared import SettingsError, load_settings
from workers import due
from workers.celery_app import create_celery
from tests.helpers import GOOD

TLS = ("rediss://oz:p%40ss@redis.example:6380/2?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem"
       "&ssl_certfile=/client.pem&ssl_keyfile=/client.key")


def test_a_tls_url_gives_redis_py_and_celery_the_same_certificates():
    t = parse(TLS)
    assert (t.host, t.port, t.db, t.username, t.password) == ("redis.example", 6380, 2, "oz", "p@ss")
    kwargs = t.client_kwargs()
    assert kwargs["ssl"] is True and kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert (kwargs["ssl_ca_certs"], kwargs["ssl_certfile"], kwargs["ssl_keyfile"]) == (
        "/ca.pem", "/client.pem", "/client.key")
    conf = create_celery(load_settings(dict(GOOD, REDIS_URL=TLS))).conf
    assert conf.broker_url.startswith("rediss://") and "?" not in conf.broker_url
    assert conf.broker_use_ssl == {k: kwargs[k] for k in ("ssl_cert_reqs", "ssl_ca_certs",
                                                          "ssl_certfile", "ssl_keyfile")}


def test_sentinels_name_the_primary_and_the_url_gives_db_user_and_password():
    s = load_settings(dict(GOOD, REDIS_URL="redis://oz:secret@ignored/3",
                           REDIS_SENTINELS="10.0.0.1:26379, 10.0.0.2:26380",
                           REDIS_SENTINEL_MASTER="oz-primary"))
    broker = celery_broker(s)
    assert broker["broker_url"] == ("sentinel://oz:secret@10.0.0.1:26379/3;"
                                    "sentinel://oz:secret@10.0.0.2:26380/3")
    conf = create_celery(s).conf
    assert conf.broker_transport_options["master_name"] == "oz-primary"
    assert conf.broker_transport.endswith("SentinelTransport")


@pytest.mark.parametrize("env, named", [
    ({"REDIS_URL": "rediss://h/0?ssl_certfile=/c.pem"}, "REDIS_URL"),
    ({"REDIS_URL": "rediss://h/0?ssl_cert_reqs=maybe"}, "REDIS_URL"),
    ({"REDIS_URL": "redis://h/0?ssl_ca_certs=/ca.pem"}, "REDIS_URL"),
    ({"REDIS_URL": "redis://h/0?socket_timeout=1"}, "REDIS_URL"),
    ({"REDIS_SENTINELS": "10.0.0.1"}, "REDIS_SENTINEL"),
    ({"REDIS_SENTINELS": "10.0.0.1:26379,host:x", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
    ({"REDIS_MIN_REPLICAS_ACKED": "-1"}, "REDIS_MIN_REPLICAS_ACKED"),
])
def test_bad_redis_settings_are_refused_in_one_line_naming_them(env, named):
    with pytest.raises(SettingsError) as err:
        load_settings(dict(GOOD, **env))
    assert named in str(err.value) and "\n" not in str(err.value)


def test_a_retry_waits_in_the_due_set_until_due_and_is_moved_once(fake_redis):
    app = Celery("t", broker="memory://")

    # not shared: a shared task of this name would meet ours in every app made after this one
    @app.task(name="omneo_zendesk.sync_profile", bind=True, shared=False)
    def sync_profile(self, profile_id):
        return None

    sync_profile.push_request(id="job-1")
    task = sync_profile
    due.schedule(task, fake_redis, ("p-1",), {}, {"oz_failures": 1}, delay=30)
    assert fake_redis.zcard(keys.due("sync")) == 1 and fake_redis.llen("sync") == 0
    assert due.move_due(fake_redis) == 0  # not due yet: Redis's clock says so
    fake_redis.zadd(keys.due("sync"), {fake_redis.zrange(keys.due("sync"), 0, 0)[0]: 0})  # now due
    assert due.move_due(fake_redis) == 1 and due.move_due(fake_redis) == 0
    [message] = fake_redis.lrange("sync", 0, -1)
    assert b'"oz_failures": 1' in message and b'"id": "job-1"' in message
