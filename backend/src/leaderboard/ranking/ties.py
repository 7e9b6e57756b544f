"""`ties: first_reached` for ordinary boards: equal scores ordered by who reached that score first.

A board with `ties: first_reached` keeps, beside each of its sorted sets S (all-time, day, hour buckets and
materialized windows), two keys in the same `{board}` slot:

- `keys.tie_order(S)`: a sorted set with the **same scores** as S (exact integers, the whole 2^53 range: no
  bits are borrowed from the score), whose members are `<reach prefix>:<member>`. The prefix is
  `REACH_BASE - reach_ms`, zero-padded to 14 digits, so Redis's own order of equal scores (member bytes,
  descending) puts the earliest reach first; equal reach times (same ms) fall back to member id in
  descending byte order. Every rank is unique: a member's rank is its position.
- `keys.tie_reach(S)`: hash member -> reach_ms, to find a member's current name in the order set.

The **reach time** of a score is order-independent, so the same writes give the same ranks whatever order
they are applied in (chunks, retries, several flushers), and it is kept by the same atomic script that
changes the score (ranking/apply.py), so it is exact under concurrency and, one slot per board, on a cluster:

- `sum` boards: the latest event time among the writes counted into the score (when every amount is
  positive, the moment the running total in event-time order reached its value);
- `best` boards: the earliest event time of a write with the best value (who got there first).

**Rolling windows** (24h/3d/7d) are sums (or maxima) of hour buckets, so a reach time cannot be packed into a
summable score; each hour bucket keeps its own reach hash, and materializing a window (store.py) takes, per
member, the latest reach over the buckets (`sum`: the time of its latest counted write in the window) or the
earliest reach among the buckets that hold its window maximum (`best`). That is the same rule applied to the
writes inside the window, so windows are exact too (at the materialization's moment, like their scores).
"""

from __future__ import annotations

REACH_BASE = 99_999_999_999_999  # 14 digits: reach times up to the year 5138 in ms
PREFIX_LENGTH = 15  # 14 digits and ':'

# Lua: the order-set member of `member` reached at `reach` (number or numeric string of epoch ms)
ORDER_NAME_LUA = """
local function order_name(reach, member)
  return string.format('%014d', 99999999999999 - tonumber(reach)) .. ':' .. member
end
"""


def order_name(reach_ms: int, member: str) -> str:
    return f"{REACH_BASE - reach_ms:014d}:{member}"


def member_of(name: str) -> str:
    return name[PREFIX_LENGTH:]


def order_match(member: str) -> str:
    """ZSCAN MATCH pattern of `member`'s entry in an order set (whatever its reach time)."""
    return "?" * PREFIX_LENGTH + "".join(f"\\{c}" if c in "*?[]\\" else c for c in member)
