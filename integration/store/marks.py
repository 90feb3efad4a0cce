"""How marks are laid out in Redis so that millions of them fit a small Redis.

A key of its own costs about 100 bytes before it holds anything (its dict entry, its name, its
object, and a TTL entry when it expires), so marks share keys: hashes small enough for Redis's
compact listpack encoding (up to 128 fields of up to 64 bytes each by default,
`hash-max-listpack-entries` / `hash-max-listpack-value`), each field costing little more than
its own bytes.

- Sync marks: field = profile id, in one of `SYNCED_BUCKETS` hashes chosen by the id's CRC-32;
  the value is the watermark packed by `pack`/`unpack` (about 48 bytes, of which 6 are the
  contact digest: `CONTACT_PART`, read in Lua by the receiver's intake, workers/intake.py). 65,536 buckets keep
  each under 128 fields up to about six million profiles.
- Dedupe marks: a hash per day and bucket that expires whole (`EXPIREAT`), field = 12 bytes of
  SHA-256 of the delivery's source and id. A mark is written into its day's hash, which expires
  `SEEN_TTL` after that day ends, so it lasts between 3 and 4 days; a lookup asks the hashes of
  the days still alive, and the next day's (a receiver whose clock runs ahead). Per-field TTLs
  (`HEXPIRE`) would need Redis 7.4, which few managed services run.
- The old layout (one key per mark: `oz:synced:<id>` JSON, `oz:seen:<source>:<id>`) is still
  read: a sync mark found there moves to its bucket when read (`MOVE`) or by
  `omneo-zendesk marks migrate`; dedupe marks of the old layout simply expire.
"""
from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
import zlib
from datetime import datetime, timezone

from integration.store import keys

SYNCED_BUCKETS = 65536
SEEN_BUCKETS = 4096
SEEN_TTL = 3 * 24 * 3600  # longer than either sender keeps retrying a delivery
DAY = 24 * 3600

FIELDS = ("fingerprint", "zendesk_user_id", "updated_at", "email", "synced_at", "contact")
# `contact`: a 32-bit digest of the contact details last synced (name, email, phone:
# integration/profiles/mapping.py `contact_digest`), so that the receiver can tell a change of
# them from a change of the tier alone (the lone lane, integration/bulk/parking.py). Last, so a
# mark packed before it had one reads back without it. Its 1-based place in FIELDS, for Lua:
CONTACT_PART = 6
CONTACT_HEX = 8
_NONE, _TEXT, _HEX, _UINT, _STAMP = range(5)
_HEX_RE = re.compile(r"\A(?:[0-9a-f]{2})+\Z")
_UINT_RE = re.compile(r"\A(?:0|[1-9][0-9]{0,18})\Z")
_STAMP_RE = re.compile(r"\A\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\Z")  # Omneo's own form
_STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


# sync marks
def synced_key(profile_id: str) -> str:
    return keys.synced_marks(zlib.crc32(str(profile_id).encode()) % SYNCED_BUCKETS)


def _stamp_seconds(text: str) -> int | None:
    if not _STAMP_RE.match(text):
        return None
    try:
        seconds = calendar.timegm(time.strptime(text, _STAMP_FORMAT))
    except ValueError:
        return None
    if seconds < 0 or datetime.fromtimestamp(seconds, timezone.utc).strftime(_STAMP_FORMAT) != text:
        return None
    return seconds


def _pack_one(value) -> bytes:
    if value is None:
        return bytes([_NONE])
    text = str(value)
    if _UINT_RE.match(text) and int(text) < 2 ** 64:
        kind, raw = _UINT, int(text).to_bytes(8, "big").lstrip(b"\0")
    elif _HEX_RE.match(text):
        kind, raw = _HEX, bytes.fromhex(text)
    elif (seconds := _stamp_seconds(text)) is not None:
        kind, raw = _STAMP, seconds.to_bytes(8, "big").lstrip(b"\0")
    else:
        kind, raw = _TEXT, text.encode()
    size = bytes([len(raw)]) if len(raw) < 255 else b"\xff" + len(raw).to_bytes(4, "big")
    return bytes([kind]) + size + raw


def pack(mark: dict) -> bytes:
    """A sync mark (the dict `State.synced_mark` returns) in as few bytes as read back exactly;
    `synced_at` keeps milliseconds."""
    synced_at = mark.get("synced_at")
    mark = {**mark, "synced_at": None if synced_at is None else round(synced_at * 1000)}
    return b"".join(_pack_one(mark.get(name)) for name in FIELDS)


def unpack(raw: bytes) -> dict:
    mark, at = {}, 0
    for name in FIELDS:
        if at >= len(raw):  # packed before this part existed
            mark[name] = None
            continue
        kind, at = raw[at], at + 1
        if kind == _NONE:
            mark[name] = None
            continue
        size, at = raw[at], at + 1
        if size == 255:
            size, at = int.from_bytes(raw[at:at + 4], "big"), at + 4
        body, at = raw[at:at + size], at + size
        if kind == _UINT:
            mark[name] = str(int.from_bytes(body, "big"))
        elif kind == _HEX:
            mark[name] = body.hex()
        elif kind == _STAMP:
            stamp = datetime.fromtimestamp(int.from_bytes(body, "big"), timezone.utc)
            mark[name] = stamp.strftime(_STAMP_FORMAT)
        else:
            mark[name] = body.decode()
    if mark["synced_at"] is not None:
        mark["synced_at"] = int(mark["synced_at"]) / 1000
    for optional in ("email", "contact"):
        if mark[optional] is None:
            del mark[optional]
    return mark


def from_legacy(raw: bytes | str) -> dict:
    """A mark of the old layout (JSON), with its digests cut to today's length (the same prefix,
    so a profile unchanged since is still seen as unchanged)."""
    mark = json.loads(raw)
    if isinstance(mark.get("fingerprint"), str) and len(mark["fingerprint"]) == 64:
        mark["fingerprint"] = mark["fingerprint"][:FINGERPRINT_HEX]
    if isinstance(mark.get("email"), str) and len(mark["email"]) == 32:
        mark["email"] = mark["email"][:FINGERPRINT_HEX]
    return {name: mark.get(name) for name in FIELDS
            if name not in ("email", "contact") or mark.get(name)}


FINGERPRINT_HEX = 16  # 64 bits: fingerprints and email digests, compared, never reversed

# Moves one mark of the old layout to its bucket, unless it changed or went meanwhile.
# KEYS: the old key, the bucket. ARGV: the old value as read, the profile id, the packed mark.
MOVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
redis.call('DEL', KEYS[1])
return 1
"""


# A packed mark's part in Lua: mark_part(raw, n) is the n-th part as packed, its kind and size
# included (false: none, or a mark packed before it existed). Compared with `pack_part` of a
# value: the packing picks a value's kind (digits alone are packed as a number).
PART_LUA = """
local function mark_part(raw, n)
  local at = 1
  for i = 1, n do
    if not raw or at > #raw then return false end
    local start = at
    local kind = string.byte(raw, at)
    at = at + 1
    if kind ~= 0 then
      local size = string.byte(raw, at)
      at = at + 1
      if size == 255 then
        local a, b, c, d = string.byte(raw, at, at + 3)
        size = ((a * 256 + b) * 256 + c) * 256 + d
        at = at + 4
      end
      at = at + size
    end
    if i == n then return string.sub(raw, start, at - 1) end
  end
  return false
end
"""


def pack_part(value) -> bytes:
    """One part of a mark as `pack` writes it (what `mark_part` in Lua returns)."""
    return _pack_one(value)


# dedupe marks
def seen_field(source: str, delivery_id: str) -> bytes:
    return hashlib.sha256(f"{source}\0{delivery_id}".encode()).digest()[:12]


def seen_keys(source: str, delivery_id: str, now: float | None = None) -> tuple[list[str], bytes, int]:
    """Where a delivery's dedupe mark is looked for and written: the hash it is written to
    (first), the other days' hashes it may be in and its old-layout key (last); its field; and
    when the hash it is written to expires (Unix time)."""
    field = seen_field(source, delivery_id)
    bucket = int.from_bytes(field[:4], "big") % SEEN_BUCKETS
    day = int((time.time() if now is None else now) // DAY)
    days = [day, day + 1, day - 1, day - 2, day - 3]
    return ([keys.seen_marks(d, bucket) for d in days] + [keys.legacy_seen(source, delivery_id)],
            field, (day + 1) * DAY + SEEN_TTL)


SEEN_KEY_COUNT = 6
