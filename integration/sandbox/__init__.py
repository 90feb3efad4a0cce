"""The local stand-ins for everything production talks to, and the launcher of a local deployment.

Production code never imports this package (tests/unit/test_standins.py checks the receiver, the
workers and every command but `dev`). What is here:

- `omneo.py`, `zendesk.py` (with `zendesk_oauth.py`, `zendesk_user_events.py`, on `base.py`): small
  in-memory stand-ins for the parts of the Omneo and Zendesk APIs this project uses. They check auth,
  answer with the real response and error shapes, and answer 429 with `Retry-After` once a configured
  request rate is exceeded. Tests, the embedded demo and the benchmarks talk to them over real HTTP
  (`python -m integration.sandbox zendesk|omneo`); `/_sandbox/...` routes let a test seed and inspect state.
- `samples.py`: the sample customers `dev` seeds the Omneo sandbox with.
- `devstack.py`: `DevStack`, which starts the product as real local processes (Redis, both
  sandboxes, receiver, workers, beat) for `omneo-zendesk dev`, the end-to-end tests and the benchmarks.
- `fakeredis_server.py`: the in-process Redis `dev` falls back to on a machine without `redis-server`.
- `redis_topology.py`: production-shaped Redis (TLS and ACL, or a replica and sentinels) for the
  end-to-end tests and benchmarks.

The sidebar preview (`web/sidebar_preview/`, Zendesk's app host stood in) serves web's own app
assets, so it stays in `web/`; production never imports it either.
"""
