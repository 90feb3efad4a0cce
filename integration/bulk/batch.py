"""One batch of the bulk pipeline: up to 100 profiles, their payloads, and the job that carries them."""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field


@dataclass
class Batch:
    last_id: str  # the last profile id of the page, skipped ones included
    rows: int  # profiles on the page
    profiles: dict[str, dict] = field(default_factory=dict)  # profile id -> profile, to sync
    payloads: list[dict] = field(default_factory=list)
    email_known: set[str] = field(default_factory=set)  # profiles whose email Zendesk has as primary
    job_id: str | None = None
    job: dict | None = None  # the finished job status
    finished: bool = False  # the job is done (or there was none)
    applied: Future | None = None  # its results being written back (identities, watermarks)
    extra: dict = field(default_factory=dict)  # what the caller keeps with the batch

    def settled(self) -> bool:
        return self.finished and (self.applied is None or self.applied.done())

    def add(self, profile: dict, payload: dict, email_known: bool = False) -> None:
        self.profiles[str(profile["id"])] = profile
        self.payloads.append(payload)
        if email_known:
            self.email_known.add(str(profile["id"]))
