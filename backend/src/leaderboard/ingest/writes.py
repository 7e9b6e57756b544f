"""A write: the unit the WAL stores, the buffer holds and the flusher applies.

One write has an id (its exactly-once key), a member, an event time, the boards it adds to and a
fingerprint of its content. A trade adds its notional to its symbol's board and to `all-volume`; a score adds
to one board. Ids are namespaced (`t:` trades, `s:` scores) so a trade id and an action id can never collide,
and a trade's id is scoped to its trader: `t:<trader_id>/<trade_id>` ('/' is outside the id charset, so the
pair is unambiguous). One trader's ids can never squat another's.

The fingerprint (`fp`, 16 hex digits of BLAKE2b over the content the client sent) is what the exactly-once
marker stores (ranking/apply.py): the same id with the same fingerprint is a retry and counts nothing; the
same id with another fingerprint is a conflict (409 `trade_id_conflict` when the request path sees it).
The last increment's board is the write's *identity board* (`all-volume` for every trade, the board for a
score): its marker decides a write for all its boards. These are named tuples, not
dataclasses: the write path makes several per trade, and a tuple is the cheapest object to build.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..defaults import MAX_SAFE_SCORE
from ..ranking.boards import ALL_VOLUME, SYMBOLS, Board

TRADE_PREFIX = "t:"
SCORE_PREFIX = "s:"
TRADE_SCOPE_SEPARATOR = "/"  # never in an id (validation.ID_PATTERN)


class Increment(NamedTuple):
    """`amount` integer minor units onto `board`, added (mode `sum`) or kept if higher (mode `best`)."""

    board: str
    mode: str
    amount: int


class Write(NamedTuple):
    write_id: str
    member: str
    ts_ms: int
    increments: tuple[Increment, ...]
    fp: str = ""  # content fingerprint; "" (WAL records from before fingerprints) matches any content

    @property
    def identity_board(self) -> str:
        """The board whose marker decides this write (see the module docstring)."""
        return self.increments[-1].board

    def to_record(self) -> dict[str, Any]:
        """The WAL form (compact JSON keys; readable with `jq`)."""
        return {
            "id": self.write_id,
            "m": self.member,
            "ts": self.ts_ms,
            "inc": [[i.board, i.mode, i.amount] for i in self.increments],
            "fp": self.fp,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Write:
        increments = tuple(Increment(str(b), str(mode), int(amount)) for b, mode, amount in record["inc"])
        return cls(str(record["id"]), str(record["m"]), int(record["ts"]), increments, str(record.get("fp", "")))


class Trade(NamedTuple):
    """A validated trade; `notional_minor` is quantity x price in cents (the volume boards' minor unit)."""

    trade_id: str
    trader_id: str
    symbol: str
    side: str
    ts_ms: int
    notional_minor: int
    content: str = ""  # what the client sent, normalized: symbol, side, quantity, price, ts if given


def fingerprint(content: str) -> str:
    return hashlib.blake2b(content.encode(), digest_size=8).hexdigest()


def trade_write_id(trader_id: str, trade_id: str) -> str:
    return TRADE_PREFIX + trader_id + TRADE_SCOPE_SEPARATOR + trade_id


def epoch_ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def trade_write(trade: Trade) -> Write:
    board = SYMBOLS[trade.symbol].board
    increments = (Increment(board, "sum", trade.notional_minor), Increment(ALL_VOLUME, "sum", trade.notional_minor))
    return Write(trade_write_id(trade.trader_id, trade.trade_id), trade.trader_id, trade.ts_ms, increments,
                 fingerprint(trade.content))


def score_write(board: Board, user_id: str, score: int, write_id: str, ts: datetime | None = None) -> Write:
    """A score of `score` minor units (points) for `user_id` on `board`, counted once per `write_id`
    (an action id, or any id the caller makes unique). `ts` defaults to now (UTC)."""
    if not 0 <= score < MAX_SAFE_SCORE:
        raise ValueError("score must be within 0 .. 2^53-1")
    when = ts or datetime.now(UTC)
    fp = fingerprint(f"{board.id}|{user_id}|{score}")
    return Write(SCORE_PREFIX + write_id, user_id, epoch_ms(when), (Increment(board.id, board.write_mode, score),), fp)
