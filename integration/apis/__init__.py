"""How we talk to Omneo and Zendesk: HTTP sessions, paths, rate limits, signatures, the two clients."""
