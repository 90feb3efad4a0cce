"""An in-memory Redis over TCP, for `omneo-zendesk dev` on a machine without `redis-server`.

fakeredis speaks the Redis protocol well enough for Celery, our Lua rate limiter and the CLI, but
it is far slower than a real server, so `DevStack` only falls back to it when the
binary is missing. Nothing is persisted: stopping it loses the queues and dead letters.

    python -m integration.sandbox.fakeredis_server --port 6390
"""
from __future__ import annotations

import argparse
import threading

from fakeredis import TcpFakeServer

from integration.sandbox.base import serve_until_signalled


def serve(host: str, port: int) -> TcpFakeServer:
    """Start serving in a background thread; the caller stops it with `shutdown()`."""
    TcpFakeServer.allow_reuse_address = True
    TcpFakeServer.daemon_threads = True
    server = TcpFakeServer((host, port), server_type="redis")
    threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m integration.sandbox.fakeredis_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6379)
    args = parser.parse_args(argv)
    server = serve(args.host, args.port)
    host, port = server.server_address[:2]
    serve_until_signalled(f"fakeredis listening on redis://{host}:{port}/0", server.shutdown)


if __name__ == "__main__":
    main()
