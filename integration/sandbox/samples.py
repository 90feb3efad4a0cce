"""Sample customers for the sandboxes: `omneo-zendesk dev` seeds these, the demo syncs them.

Made-up people at example.com, each with rewards (balances, benefits, transactions) so the sidebar
has something to show.
"""
from __future__ import annotations

import requests

CUSTOMERS = [
    {"id": "demo-ada", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
     "mobile_phone": "+61400000001", "tier": "gold"},
    {"id": "demo-grace", "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
     "mobile_phone": "+61400000002", "tier": "silver"},
    {"id": "demo-alan", "first_name": "Alan", "last_name": "Turing", "email": "alan@example.com",
     "tier": "bronze"},
    {"id": "demo-katherine", "first_name": "Katherine", "last_name": "Johnson",
     "email": "katherine@example.com", "mobile_phone": "+61400000004", "tier": "gold"},
]


TIERS = ("Bronze", "Silver", "Gold")


def rewards(index: int) -> dict:
    points = 1200 - 250 * index
    tier = CUSTOMERS[index % len(CUSTOMERS)].get("tier", "bronze").title()
    nxt = TIERS[TIERS.index(tier) + 1] if tier in TIERS[:-1] else None
    return {
        "tier_progress": {"current": tier, "next": nxt, "next_remain": 300 + 100 * index if nxt else None,
                          "next_progress": points if nxt else None},
        "balances": {"reward_balance": 20 - 5 * index, "credit_balance": 10 * (index % 2),
                     "point_balance": points, "point_balance_dollars": points / 100,
                     "combined_balance_dollars": 20 - 5 * index + 10 * (index % 2) + points / 100,
                     "currency": "AUD"},
        "benefits": [
            {"id": 100 + index, "is_expired": False, "is_redeemable": True,
             "expires_at": "2027-06-30 23:59:59", "name": "Birthday $10 voucher",
             "definition": {"name": "Birthday $10 voucher"}},
            {"id": 200 + index, "is_expired": True, "is_redeemable": False,
             "expires_at": "2025-01-31 23:59:59", "name": "Summer sale 15% off",
             "definition": {"name": "Summer sale 15% off"}},
        ],
        "transactions": [
            {"id": 1000 + 10 * index + n, "total": 49.95 + 30 * n, "transacted_at": f"2026-0{n + 1}-15 10:30:00",
             "timezone": "Australia/Sydney", "location": {"name": "Sydney CBD store"},
             "items": [{"name": "Linen shirt", "quantity": 1, "price": 49.95 + 30 * n}]}
            for n in range(3)
        ],
    }


def seed(omneo_sandbox_url: str, customers: list[dict] = CUSTOMERS, emit: bool = False) -> list[dict]:
    """Create the customers (and their rewards) in a running Omneo sandbox; return the profiles.

    With `emit`, the sandbox delivers `profile.created` to the webhooks registered with it."""
    profiles = []
    for index, customer in enumerate(customers):
        r = requests.post(f"{omneo_sandbox_url}/_sandbox/profiles", params={"emit": "1" if emit else "0"},
                          json=customer, timeout=10)
        r.raise_for_status()
        profiles.append(r.json()["data"])
        requests.post(f"{omneo_sandbox_url}/_sandbox/profiles/{customer['id']}/rewards",
                      json=rewards(index), timeout=10).raise_for_status()
    return profiles
