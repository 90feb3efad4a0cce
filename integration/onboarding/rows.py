"""One line of what `check` or `setup` reports."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    item: str
    status: str  # "ok", "warn", "FAIL", or for setup: "created", "updated", "unchanged", "removed"
    detail: str = ""
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"
