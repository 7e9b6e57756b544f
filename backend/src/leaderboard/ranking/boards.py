"""Boards: declared, not implicit. Defaults are seeded on first use of an empty registry; admins add
more over the API.

The registry lives in one Redis hash (board id -> JSON spec); each process keeps a copy for
BOARD_CACHE_SECONDS so the hot paths do not ask Redis for it.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
from redis.exceptions import RedisError

from .. import keys, metrics
from .errors import BoardNotFound
from .periods import PERIODS

BOARD_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
BOARD_CACHE_SECONDS = 5.0  # how long a process trusts its copy of the registry
MODES = ("sum", "best")
TIES = ("shared", "first_reached")  # equal scores share a rank (1, 1, 3), or the one that got there first leads
KINDS = ("symbol", "aggregate", "game")
ALL_VOLUME = "all-volume"
SCORES = "scores"


@dataclass(frozen=True)
class Symbol:
    symbol: str  # ticker, e.g. "BTC"
    name: str  # display name, e.g. "Bitcoin"
    slug: str  # the trading seed's id, e.g. "bitcoin"
    price_decimals: int
    quantity_decimals: int

    @property
    def board(self) -> str:
        return self.symbol.lower()

    @property
    def icon(self) -> str:
        return f"/assets/icons/{self.board}.svg"

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "name": self.name,
            "slug": self.slug,
            "board": self.board,
            "icon": self.icon,
            "price_decimals": self.price_decimals,
            "quantity_decimals": self.quantity_decimals,
        }


SYMBOLS: dict[str, Symbol] = {
    s.symbol: s
    for s in (
        Symbol("BTC", "Bitcoin", "bitcoin", 2, 8),
        Symbol("ETH", "Ethereum", "ethereum", 2, 8),
        Symbol("SOL", "Solana", "solana", 4, 6),
        Symbol("USDC", "USD Coin", "usdc", 4, 6),
        Symbol("ARB", "Arbitrum", "arbitrum", 4, 6),
    )
}


@dataclass(frozen=True)
class Board:
    id: str
    title: str
    unit: str
    decimals: int
    mode: str  # "sum": scores add up; "best": a member keeps its best single score
    kind: str = "game"
    symbol: str | None = None
    icon: str | None = None
    ties: str = "shared"  # TIES; first_reached keeps an order set beside each sorted set (ranking/ties.py)

    @property
    def write_mode(self) -> str:
        """The apply mode a write to this board carries (ingest/writes.Increment.mode, ranking/apply.py)."""
        return self.mode if self.ties == "shared" else f"{self.mode}:{self.ties}"

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "periods": [p.value for p in PERIODS]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Board:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in fields})


def default_boards() -> list[Board]:
    boards = [
        Board(s.board, f"{s.name} volume", "USD", 2, "sum", "symbol", s.symbol, s.icon) for s in SYMBOLS.values()
    ]
    boards.append(Board(ALL_VOLUME, "All symbols volume", "USD", 2, "sum", "aggregate", None, "/assets/icons/all.svg"))
    boards.append(Board(SCORES, "Game scores", "points", 0, "best", "game", None, "/assets/icons/scores.svg"))
    return boards


def validate_board(raw: dict[str, Any]) -> Board:
    """A Board from an admin's request; ValueError naming the bad field otherwise."""
    allowed = {"id", "title", "unit", "decimals", "mode", "ties"}
    unknown = set(raw) - allowed
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    board_id = raw.get("id")
    if not isinstance(board_id, str) or not BOARD_ID_PATTERN.fullmatch(board_id):
        raise ValueError("id: 1-48 chars of a-z, 0-9, '_' or '-', starting with a letter or digit")
    title = raw.get("title", board_id)
    if not isinstance(title, str) or not 1 <= len(title) <= 80:
        raise ValueError("title: a string of 1-80 characters")
    unit = raw.get("unit", "points")
    if not isinstance(unit, str) or not 1 <= len(unit) <= 16:
        raise ValueError("unit: a string of 1-16 characters")
    decimals = raw.get("decimals", 0)
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 8:
        raise ValueError("decimals: an integer from 0 to 8")
    mode = raw.get("mode", "best")
    if mode not in MODES:
        raise ValueError(f"mode: one of {', '.join(MODES)}")
    ties = raw.get("ties", "shared")
    if ties not in TIES:
        raise ValueError(f"ties: one of {', '.join(TIES)}")
    return Board(board_id, title, unit, decimals, mode, "game", ties=ties)


class BoardRegistry:
    """The declared boards, read through a short per-process cache."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._lock = threading.Lock()
        self._boards: dict[str, Board] = {}
        self._loaded_at = float("-inf")

    def seed_defaults(self) -> None:
        """Idempotent: adds the default boards that are missing, never overwrites."""
        for board in default_boards():
            self.redis.hsetnx(keys.boards_registry(), board.id, orjson.dumps(board.to_json()))
        self.invalidate()

    def create(self, board: Board) -> bool:
        """False if a board with that id already exists."""
        created = bool(self.redis.hsetnx(keys.boards_registry(), board.id, orjson.dumps(board.to_json())))
        self.invalidate()
        return created

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def all(self) -> dict[str, Board]:
        now = time.monotonic()
        with self._lock:
            if now - self._loaded_at < BOARD_CACHE_SECONDS:
                return self._boards
        try:
            raw = self.redis.hgetall(keys.boards_registry())
        except RedisError:
            if self._boards:
                metrics.REDIS_ERRORS.labels("boards").inc()  # re-raised ones are counted by the caller
                return self._boards  # Redis is down: the last known registry beats refusing every write
            raise
        if not raw:  # first start: the registry is declared, never implicit
            self.seed_defaults()
            raw = self.redis.hgetall(keys.boards_registry())
        boards = {k.decode(): Board.from_json(orjson.loads(v)) for k, v in raw.items()}
        with self._lock:
            self._boards, self._loaded_at = boards, now
        return boards

    def get(self, board_id: str) -> Board | None:
        """The board, or None. With Redis unreachable and no registry loaded yet (a fresh worker), a default
        board is still known (every deployment declares them), so reads reach their cached-copy path."""
        try:
            return self.all().get(board_id)
        except RedisError:
            fallback = next((board for board in default_boards() if board.id == board_id), None)
            if fallback is None:
                raise
            metrics.REDIS_ERRORS.labels("boards").inc()
            return fallback

    def require(self, board_id: str) -> Board:
        """The board, or BoardNotFound."""
        board = self.get(board_id)
        if board is None:
            raise BoardNotFound(board_id)
        return board
