"""Production-shaped Redis for the e2e tests and benchmarks, on this machine: TLS with client
certificates and the least-privilege ACL user, or a primary, a replica and three sentinels.

All from the one `redis-server` binary (`redis-server --sentinel` runs a sentinel), on free ports.
"""
from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from integration.sandbox.devstack import DevStack, free_port, wait_until

ACL_USER = "omneo-zendesk"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"
MASTER_NAME = "oz-primary"

# The commands and keys the product uses (README: "Redis in production"). Keys: ours under oz:,
# Kombu's queues (with their priority suffixes), its unacked bookkeeping, its exchange bindings
# and Celery's remote-control queues; every channel: Kombu's fanout (events, remote control)
# subscribes to patterns, which ACLs match literally against a channel rule.
ACL_RULES = (
    "resetkeys ~oz:* ~sync* ~erasure* ~interactions* ~actions* ~reconcile* ~unacked* ~_kombu.binding* "
    "~*.celery.pidbox* ~celeryev.* allchannels "
    "-@all +ping +info +select +time +wait +multi +exec +discard +watch +unwatch +evalsha +script|load +script|exists "
    "+get +mget +set +del +exists +expire +expireat +pexpire +incr +scan "
    "+hset +hsetnx +hget +hmget +hgetall +hdel +hlen +hexists +hkeys "
    "+lpush +rpush +lrange +llen +ltrim +brpop "
    "+sadd +srem +smembers "
    "+zadd +zrem +zcard +zrange +zrangebyscore +zrevrangebyscore +zrevrange "
    "+publish +subscribe +psubscribe +unsubscribe +punsubscribe"
)


def acl_setuser(password: str) -> str:
    """The ACL SETUSER line for the product's user."""
    return f"ACL SETUSER {ACL_USER} reset on >{password} {ACL_RULES}"


def make_certs(directory: Path) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def issue(subject, key, issuer, issuer_key, ca=False, usage=None, san=None):
        b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=2))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if usage:
            b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def write(stem, cert, key):
        (directory / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (directory / f"{stem}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue("oz test CA", ca_key, "oz test CA", ca_key, ca=True)
    write("ca", ca, ca_key)
    for stem, usage, san in (
            ("server", ExtendedKeyUsageOID.SERVER_AUTH,
             [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            ("client", ExtendedKeyUsageOID.CLIENT_AUTH, None)):
        key = ec.generate_private_key(ec.SECP256R1())
        write(stem, issue(f"oz {stem}", key, "oz test CA", ca_key, usage=usage, san=san), key)
    return {"ca": str(directory / "ca.crt"),
            "server": str(directory / "server.crt"), "server_key": str(directory / "server.key"),
            "client": str(directory / "client.crt"), "client_key": str(directory / "client.key")}


def _users(password: str) -> list[str]:
    return ["user default off",
            f"user {ADMIN_USER} on >{ADMIN_PASSWORD} ~* &* +@all",
            f"user {ACL_USER} on >{password} {ACL_RULES}"]


def start_tls_redis(dev: DevStack, password: str) -> tuple[str, str]:
    """redis-server on TLS only, asking for client certificates, with the ACL user. Returns the
    product's REDIS_URL and an admin URL for the test itself (flushes, ACL LOG)."""
    certs = make_certs(dev.log_dir / "certs")
    port = free_port()
    conf = dev.log_dir / "redis-tls.conf"
    conf.write_text("\n".join([
        "port 0", f"tls-port {port}", "bind 127.0.0.1", 'save ""', "appendonly no",
        f"dir {dev.log_dir}", f"tls-cert-file {certs['server']}", f"tls-key-file {certs['server_key']}",
        f"tls-ca-cert-file {certs['ca']}", "tls-auth-clients yes", *_users(password)]) + "\n")
    proc = dev._spawn("redis", ["redis-server", str(conf)])
    proc.wait_for_log("Ready to accept connections", 20)
    query = (f"ssl_cert_reqs=required&ssl_ca_certs={certs['ca']}"
             f"&ssl_certfile={certs['client']}&ssl_keyfile={certs['client_key']}")
    url = f"rediss://{ACL_USER}:{password}@127.0.0.1:{port}/0?{query}"
    dev.env["REDIS_URL"] = dev.urls["redis"] = url
    dev.redis_kind = "redis-server (TLS, ACL user)"
    return url, f"rediss://{ADMIN_USER}:{ADMIN_PASSWORD}@127.0.0.1:{port}/0?{query}"


def start_replicated_redis(dev: DevStack, password: str, replicas: int = 2, sentinels: int = 3,
                           down_after_ms: int = 1000) -> dict:
    """A primary, `replicas` replicas and `sentinels` sentinels watching them; sets REDIS_SENTINELS,
    REDIS_SENTINEL_MASTER and a REDIS_URL naming the ACL user. Returns the ports and processes.

    Two replicas, so that with REDIS_MIN_REPLICAS_ACKED=1 the promoted one still has a replica to
    acknowledge the jobs it takes after the primary is lost."""
    primary = free_port()
    nodes = [("redis-primary", primary, [])]
    nodes += [(f"redis-replica-{i}", free_port(), [f"replicaof 127.0.0.1 {primary}"])
              for i in range(replicas)]
    procs = {}
    for name, port, extra in nodes:
        conf = dev.log_dir / f"{name}.conf"
        conf.write_text("\n".join([
            f"port {port}", "bind 127.0.0.1", 'save ""', "appendonly no", f"dir {dev.log_dir}",
            f"dbfilename {name}.rdb", "repl-diskless-sync-delay 0", f"masteruser {ADMIN_USER}",
            f"masterauth {ADMIN_PASSWORD}",
            *_users(password), *extra]) + "\n")
        procs[name] = dev._spawn(name, ["redis-server", str(conf)])
        procs[name].wait_for_log("Ready to accept connections", 20)
    sentinel_ports = []
    for i in range(sentinels):
        port = free_port()
        conf = dev.log_dir / f"sentinel-{i}.conf"  # a sentinel rewrites its file: one each
        conf.write_text("\n".join([
            f"port {port}", "bind 127.0.0.1", f"dir {dev.log_dir}",
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary} 2",
            f"sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}",
            # a failed election is tried again after twice this: short, as on a loaded machine
            # the first one may not finish
            f"sentinel failover-timeout {MASTER_NAME} 4000",
            f"sentinel auth-user {MASTER_NAME} {ADMIN_USER}",
            f"sentinel auth-pass {MASTER_NAME} {ADMIN_PASSWORD}"]) + "\n")
        procs[f"sentinel-{i}"] = dev._spawn(f"sentinel-{i}", ["redis-server", str(conf), "--sentinel"])
        sentinel_ports.append(port)
    for i in range(sentinels):
        procs[f"sentinel-{i}"].wait_for_log("+monitor master", 20)
    admin = redis.Redis(port=primary, username=ADMIN_USER, password=ADMIN_PASSWORD)
    wait_until(lambda: admin.info("replication")["connected_slaves"] >= replicas, 20,
               what="the replicas")
    dev.env.update({
        "REDIS_URL": f"redis://{ACL_USER}:{password}@127.0.0.1/0",
        "REDIS_SENTINELS": ",".join(f"127.0.0.1:{p}" for p in sentinel_ports),
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
    })
    dev.urls["redis"] = dev.env["REDIS_URL"]
    dev.redis_kind = "redis-server (primary, replica, sentinels)"
    return {"primary": primary, "replicas": [port for _, port, _ in nodes[1:]],
            "sentinels": sentinel_ports, "processes": procs}
