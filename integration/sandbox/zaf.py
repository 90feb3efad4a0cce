"""ZAF JWTs as Zendesk signs them for a server-side app, with a test RSA key, and sample agents.

`python -m integration.sandbox.zaf --key FILE --base-url URL --agent ID` prints one (`dev` writes
the key and says the rest).

Zendesk signs with the app's private key (RS256); the service verifies with the public key it is
given (ZENDESK_APP_PUBLIC_KEY). Here a key pair is made per signer, so a test or `dev` hands the
public half to the service it starts. Claims: `iss` the account's host, `aud` the installation's
API URL, `sub` the agent's user URL, `iat`, `exp`, `jti`.
"""
from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integration.apis.zaf_auth import audience, issuer

# one of each kind of Zendesk agent: admin, agent, agents with custom roles, and an end user
SAMPLE_AGENTS = (
    {"id": 5001, "name": "Avery Admin", "email": "avery.admin@example.com", "role": "admin"},
    {"id": 5002, "name": "Sam Agent", "email": "sam.agent@example.com", "role": "agent"},
    {"id": 5003, "name": "Tia Team Lead", "email": "tia.lead@example.com", "role": "agent",
     "custom_role_id": 360001},
    {"id": 5004, "name": "Liam Light Agent", "email": "liam.light@example.com", "role": "agent",
     "custom_role_id": 360002},
    {"id": 5005, "name": "Eve End User", "email": "eve.user@example.com", "role": "end-user"},
)
TEAM_LEAD_ROLE = "360001"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def write_key(key: rsa.RSAPrivateKey, path: Path) -> None:
    """The test key's private half, readable by its owner only."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def read_key(path: Path) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


class ZafSigner:
    """Signs ZAF JWTs for one account (`base_url`) and installation."""

    def __init__(self, base_url: str, installation_id: str = "1122334455", key=None):
        self.base_url, self.installation_id = base_url.rstrip("/"), str(installation_id)
        self.key = key or new_key()
        self.public_pem = public_pem(self.key)

    def token(self, user_id, lifetime: float = 300, **claims) -> str:
        now = int(time.time())
        body = {"iss": issuer(self.base_url), "aud": audience(self.base_url, self.installation_id),
                "sub": f"{self.base_url}/api/v2/users/{user_id}.json", "iat": now,
                "exp": now + int(lifetime), "jti": uuid.uuid4().hex}
        body.update(claims)
        return jwt.encode(body, self.key, algorithm="RS256")


def add_sample_agents(zendesk_url: str) -> None:
    """Put the sample agents in the Zendesk sandbox (ignored when they are there already)."""
    for agent in SAMPLE_AGENTS:
        requests.post(f"{zendesk_url}/_sandbox/users", json=agent, timeout=5)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m integration.sandbox.zaf")
    parser.add_argument("--key", required=True, help="the test key `dev` wrote (PEM)")
    parser.add_argument("--base-url", required=True, help="the Zendesk (sandbox) base URL")
    parser.add_argument("--installation", default="1122334455")
    parser.add_argument("--agent", type=int, default=SAMPLE_AGENTS[0]["id"],
                        help="the agent's user id: " + ", ".join(f"{a['id']} {a['role']}"
                                                                 f"{' (custom role ' + str(a['custom_role_id']) + ')' if a.get('custom_role_id') else ''}"
                                                                 for a in SAMPLE_AGENTS))
    parser.add_argument("--lifetime", type=float, default=300)
    args = parser.parse_args(argv)
    print(ZafSigner(args.base_url, args.installation, key=read_key(args.key)).token(args.agent, args.lifetime))


if __name__ == "__main__":
    main()
