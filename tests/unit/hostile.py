"""What the hostile-input battery shares: the ids an attacker would send, and a tally that prints
and checks the battery's totals (requests tried, statuses seen, 5xx, calls off their route, keys of
another profile touched)."""
from __future__ import annotations

from collections import Counter

HOSTILE_IDS = ["..", ".", "", "../identities", "1/../../tickets", "a?b=c", "a#b", "%2e%2e", "a/b",
               "a\\b", "1,2", " ", "a b", "1\n2", "١٢٣", "１２", "é", "\ud800", "x" * 65, "1" * 21, True, 1.5,
               None, ["1"], {"id": "1"}]
# the same, as a JSON body can carry them (a lone surrogate is written as its escape)
HOSTILE_JSON_IDS = [v for v in HOSTILE_IDS if v is not None]


class Tally:
    """Counts what one class of the battery tried and saw; `check()` prints the totals and fails
    on any 5xx, any API call off its route or any key of another profile touched."""

    def __init__(self, name: str):
        self.name = name
        self.tried = 0
        self.statuses: Counter = Counter()
        self.off_route: list = []
        self.foreign_keys: list = []

    def saw(self, status) -> None:
        self.tried += 1
        self.statuses[status] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if isinstance(s, int) and s >= 500)

    def check(self, allowed_5xx: set[int] = frozenset()) -> None:
        errors = sum(n for s, n in self.statuses.items()
                     if isinstance(s, int) and s >= 500 and s not in allowed_5xx)
        print(f"\n[{self.name}] requests tried: {self.tried}; statuses seen: "
              f"{dict(sorted(self.statuses.items(), key=str))}; answered 5xx: {errors}; "
              f"API calls off their route: {len(self.off_route)}; keys of another profile "
              f"touched: {len(self.foreign_keys)}")
        assert self.tried > 0
        assert errors == 0, self.statuses
        assert not self.off_route, self.off_route[:5]
        assert not self.foreign_keys, self.foreign_keys[:5]
