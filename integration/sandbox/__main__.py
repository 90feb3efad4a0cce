"""Run a sandbox as its own process: `python -m integration.sandbox zendesk|omneo [options]`.

The first line printed is `<name> sandbox listening on <url>`, for whoever started it.
"""
from __future__ import annotations

import argparse

from integration.sandbox import traffic
from integration.sandbox.base import ServerThread, serve_until_signalled
from integration.sandbox.omneo import OmneoSandbox
from integration.sandbox.zendesk import ZendeskSandbox


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m integration.sandbox")
    parser.add_argument("api", choices=["zendesk", "omneo"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate-per-minute", type=int, default=None)
    parser.add_argument("--token", default=None, help="API token (Omneo bearer or Zendesk API token)")
    parser.add_argument("--email", default="agent@example.com", help="Zendesk agent email")
    parser.add_argument("--webhook-secret", default=None,
                        help="secret Omneo signs webhooks with / Zendesk webhooks' signing secret")
    parser.add_argument("--no-bulk-imports", action="store_true")
    parser.add_argument("--client-id", default=None, help="Zendesk: a confidential OAuth client's Identifier")
    parser.add_argument("--client-secret", default=None, help="Zendesk: that client's secret")
    parser.add_argument("--token-lifetime", type=float, default=None,
                        help="Zendesk: grant tokens for at most this many seconds")
    parser.add_argument("--record-traffic", default=None, metavar="DIR",
                        help=f"append every API call to DIR/<api>-<pid>.jsonl (default: ${traffic.ENV})")
    args = parser.parse_args(argv)
    if args.api == "zendesk":
        app = ZendeskSandbox(email=args.email, api_token=args.token or "sandbox-token",
                             rate_per_minute=args.rate_per_minute,
                             bulk_imports=not args.no_bulk_imports,
                             webhook_secret=args.webhook_secret, client_id=args.client_id,
                             client_secret=args.client_secret, token_lifetime=args.token_lifetime)
    else:
        app = OmneoSandbox(token=args.token or "sandbox-omneo-token",
                           webhook_secret=args.webhook_secret or "sandbox-webhook-secret",
                           rate_per_minute=args.rate_per_minute)
    app.traffic = traffic.from_environment(args.api, args.record_traffic)
    server = ServerThread(app, port=args.port).start()
    serve_until_signalled(f"{args.api} sandbox listening on {server.url}", server.stop)


if __name__ == "__main__":
    main()
