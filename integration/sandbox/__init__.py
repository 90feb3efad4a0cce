"""Small in-memory stand-ins for the parts of the Omneo and Zendesk APIs this project uses.

They check auth, answer with the real response and error shapes, and answer 429 with
`Retry-After` once a configured request rate is exceeded. Tests, the embedded demo and the
benchmarks talk to them over real HTTP. `/_sandbox/...` routes let a test seed and inspect state.
"""
