"""A competition's spec: validation of an admin's request, its status at a time, prizes, and the tie rule.

Every value in a competition is an integer in the board's minor units (cents for `volume` and `pnl`,
basis points of a percent for `roi`, points for `score`); the API shows them as exact decimal strings.

**Ties** (`ties`): `shared` is the boards' rule (equal scores share a rank: 1, 1, 3). `first_reached` (the
default) orders equal scores by who reached that score first, so every rank is unique. It is kept exactly, in
one sorted-set double per member, so Redis orders it by itself under any concurrency and on a cluster:

    encoded = score * 2^k + (slots - 1 - slot(reached_at))

where `slot(t) = (t - starts_at) // TIES_RESOLUTION_MS` and `slots` is the number of such steps in the window,
`2^k > slots - 1`. The reach time of a `volume` score is the latest event time among the trades counted into
it (when all amounts are positive, the moment the sum was reached); of a `pnl`/`roi`/`score` value, its
`as_of`. Both are order-independent (a sum and a maximum), so the same trades give the same ranks whatever
order they are applied in. Equal score and equal reach step: member id in descending byte order (Redis's
order for equal doubles). The encoded value stays below 2^53 (exact) as long as |score| <= `max_score` =
2^(53-k) - 1, shown on the competition; a score beyond it counts as `max_score` (saturates).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from .. import defaults
from ..clock import from_ms, iso, to_ms
from ..ranking.boards import SYMBOLS

COMPETITION_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
METRICS = ("volume", "pnl", "roi", "score")
REGISTRATIONS = ("open", "none")
TIES = ("first_reached", "shared")
STATUSES = ("upcoming", "live", "finalizing", "finished")
# metric -> (unit, decimals)
UNITS = {"volume": ("USD", 2), "pnl": ("USD", 2), "roi": ("%", 2), "score": ("points", 0)}
MAX_RANK = 100_000
SAFE_BITS = 53
DECIMAL_PATTERN = re.compile(r"^-?[0-9]{1,16}(\.[0-9]{1,8})?$")
WEBHOOK_PATTERN = re.compile(r"https?://[^\s/?#@]{1,260}(/[!-~]*)?")  # printable ASCII, no user:password@
HOST_PATTERN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\.?")
LOCAL_NAMES = ("localhost", "localhost.")


class InvalidCompetition(ValueError):
    """A bad field of a competition request; `field` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Prize:
    from_rank: int
    to_rank: int
    prize: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Competition:
    id: str
    title: str
    metric: str
    symbols: tuple[str, ...] | None  # tickers whose trades count; None = every symbol
    starts_at_ms: int
    ends_at_ms: int
    registration: str
    min_volume: int  # minor units (cents) of volume needed to qualify; 0 = none
    prizes: tuple[Prize, ...]
    ties: str
    team_size: int | None
    team_top_n: int | None
    webhook_url: str | None
    resolution_ms: int  # first_reached: the reach-time step (TIES_RESOLUTION_MS at creation)

    # --- the tie encoding ---
    @property
    def slots(self) -> int:
        return max(1, -(-(self.ends_at_ms - self.starts_at_ms) // self.resolution_ms))

    @property
    def shift(self) -> int:
        """2^k: the multiplier of the score in the encoded double (1 for shared ties)."""
        return 1 if self.ties == "shared" else 1 << (self.slots - 1).bit_length()

    @property
    def max_score(self) -> int:
        return (1 << SAFE_BITS) // self.shift - 1

    @property
    def unit(self) -> str:
        return UNITS[self.metric][0]

    @property
    def decimals(self) -> int:
        return UNITS[self.metric][1]

    def decode(self, encoded: float | int) -> int:
        """The score (minor units) of an encoded sorted-set value."""
        return int(encoded) // self.shift

    def slot_of(self, ts_ms: int) -> int:
        return (ts_ms - self.starts_at_ms) // self.resolution_ms

    def encode(self, score: int, reached_ms: int) -> int:
        score = max(-self.max_score, min(self.max_score, score))
        if self.shift == 1:
            return score
        return score * self.shift + (self.slots - 1 - self.slot_of(reached_ms))

    def in_window(self, ts_ms: int) -> bool:
        return self.starts_at_ms <= ts_ms < self.ends_at_ms

    def counts_symbol(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols

    # --- status ---
    def status(self, now_ms: int, final: bool) -> str:
        if final:
            return "finished"
        if now_ms < self.starts_at_ms:
            return "upcoming"
        if now_ms < self.ends_at_ms:
            return "live"
        return "finalizing"

    def prize_for(self, rank: int | None) -> str | None:
        if rank is None:
            return None
        for tier in self.prizes:
            if tier.from_rank <= rank <= tier.to_rank:
                return tier.prize
        return None

    # --- storage and API forms ---
    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "metric": self.metric,
            "symbols": list(self.symbols) if self.symbols is not None else None,
            "starts_at_ms": self.starts_at_ms, "ends_at_ms": self.ends_at_ms, "registration": self.registration,
            "min_volume": self.min_volume, "prizes": [p.to_json() for p in self.prizes], "ties": self.ties,
            "team_size": self.team_size, "team_top_n": self.team_top_n, "webhook_url": self.webhook_url,
            "resolution_ms": self.resolution_ms,
        }

    @classmethod
    def from_record(cls, raw: dict[str, Any]) -> Competition:
        symbols = raw.get("symbols")
        return cls(
            raw["id"], raw["title"], raw["metric"], tuple(symbols) if symbols is not None else None,
            int(raw["starts_at_ms"]), int(raw["ends_at_ms"]), raw["registration"], int(raw["min_volume"]),
            tuple(Prize(**p) for p in raw["prizes"]), raw["ties"], raw.get("team_size"), raw.get("team_top_n"),
            raw.get("webhook_url"), int(raw["resolution_ms"]),
        )

    def to_json(self, now_ms: int, final: bool, participants: int) -> dict[str, Any]:
        status = self.status(now_ms, final)
        if status == "upcoming":
            time_left = (self.starts_at_ms - now_ms) / 1000
        elif status == "live":
            time_left = (self.ends_at_ms - now_ms) / 1000
        else:
            time_left = 0.0
        return {
            "id": self.id, "title": self.title, "metric": self.metric, "unit": self.unit, "decimals": self.decimals,
            "symbols": list(self.symbols) if self.symbols is not None else None,
            "starts_at": iso(from_ms(self.starts_at_ms)), "ends_at": iso(from_ms(self.ends_at_ms)),
            "status": status, "time_left_seconds": round(time_left, 3), "registration": self.registration,
            "min_volume": format_minor(self.min_volume, 2) if self.min_volume else None,
            "prizes": [p.to_json() for p in self.prizes], "ties": self.ties,
            "team_size": self.team_size, "team_top_n": self.team_top_n, "participants": participants,
            "max_score": format_minor(self.max_score, self.decimals),
            "board": f"competition:{self.id}",
        }


def format_minor(minor: int, decimals: int) -> str:
    return format(Decimal(minor).scaleb(-decimals), "f")


def parse_amount(raw: Any, decimals: int, field: str, *, signed: bool, limit: int) -> int:
    """A JSON number or decimal string in major units -> integer minor units (exact, no rounding)."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise InvalidCompetition(field, "a decimal number (JSON number or string)")
    text = raw if isinstance(raw, str) else repr(raw)
    if not DECIMAL_PATTERN.fullmatch(text):
        raise InvalidCompetition(field, "a plain decimal number, e.g. \"1500.25\" (no exponent, at most 8 decimals)")
    try:
        value = Decimal(text).scaleb(decimals)
    except InvalidOperation:
        raise InvalidCompetition(field, "a decimal number") from None
    if value != value.to_integral_value():
        raise InvalidCompetition(field, f"at most {decimals} decimals")
    minor = int(value)
    if minor < 0 and not signed:
        raise InvalidCompetition(field, "must not be negative")
    if abs(minor) > limit:
        raise InvalidCompetition(field, f"at most {format_minor(limit, decimals)} in absolute value")
    return minor


def parse_time(raw: Any, field: str) -> int:
    if not isinstance(raw, str) or len(raw) > 40:
        raise InvalidCompetition(field, "an ISO-8601 time with a timezone, e.g. 2026-12-01T00:00:00Z")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidCompetition(field, "an ISO-8601 time with a timezone, e.g. 2026-12-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        raise InvalidCompetition(field, "needs a timezone (Z or +hh:mm)")
    ms = to_ms(parsed)
    if not 946_684_800_000 <= ms < 32_503_680_000_000:  # 2000 .. 3000
        raise InvalidCompetition(field, "between the years 2000 and 3000")
    return ms


def _positive_int(raw: Any, field: str, maximum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= maximum:
        raise InvalidCompetition(field, f"an integer from 1 to {maximum}")
    return raw


FIELDS = {"id", "title", "metric", "symbols", "starts_at", "ends_at", "registration", "min_volume", "prizes",
          "ties", "team_size", "team_top_n", "webhook_url"}


def validate_competition(raw: dict[str, Any], *, resolution_ms: int, max_days: int, max_tiers: int,
                         max_team_size: int, max_volume: int, webhook_signing: bool,
                         webhook: dict[str, Any] | None = None, created_ms: int | None = None,
                         start_skew_ms: int = 0) -> Competition:
    """A Competition from an admin's request body; InvalidCompetition naming the first bad field. `webhook`:
    check_webhook_url's keywords (https only, public addresses, WEBHOOK_URL_MAX_LENGTH by default).
    `created_ms`: the creation time; `starts_at` may not be more than `start_skew_ms` before it (trades applied
    before a competition exists are not counted back)."""
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise InvalidCompetition(unknown[0], "unknown field")
    comp_id = raw.get("id")
    if not isinstance(comp_id, str) or not COMPETITION_ID_PATTERN.fullmatch(comp_id):
        raise InvalidCompetition("id", "1-48 chars of a-z, 0-9, '_' or '-', starting with a letter or digit")
    title = raw.get("title", comp_id)
    if not isinstance(title, str) or not 1 <= len(title) <= 80 or not title.isprintable():
        raise InvalidCompetition("title", "1-80 printable characters")
    metric = raw.get("metric")
    if metric not in METRICS:
        raise InvalidCompetition("metric", f"one of {', '.join(METRICS)}")
    symbols_raw = raw.get("symbols")
    symbols: tuple[str, ...] | None = None
    if symbols_raw is not None:
        if metric != "volume":
            raise InvalidCompetition("symbols", "only volume competitions count trades by symbol")
        if not isinstance(symbols_raw, list) or not 1 <= len(symbols_raw) <= len(SYMBOLS) \
                or any(s not in SYMBOLS for s in symbols_raw) or len(set(symbols_raw)) != len(symbols_raw):
            raise InvalidCompetition("symbols", f"a list of distinct symbols among {', '.join(SYMBOLS)}")
        symbols = tuple(symbols_raw)
    if "starts_at" not in raw:
        raise InvalidCompetition("starts_at", "required")
    if "ends_at" not in raw:
        raise InvalidCompetition("ends_at", "required")
    starts, ends = parse_time(raw["starts_at"], "starts_at"), parse_time(raw["ends_at"], "ends_at")
    if created_ms is not None and starts < created_ms - start_skew_ms:
        raise InvalidCompetition("starts_at", f"must not be before now (allowance {start_skew_ms / 1000:g} s): trades "
                                              "applied before a competition is created are not counted back")
    if ends <= starts:
        raise InvalidCompetition("ends_at", "must be after starts_at")
    if ends - starts > max_days * 86_400_000:
        raise InvalidCompetition("ends_at", f"a competition lasts at most {max_days} days")
    registration = raw.get("registration", "open")
    if registration not in REGISTRATIONS:
        raise InvalidCompetition("registration", f"one of {', '.join(REGISTRATIONS)}")
    min_volume = 0
    if raw.get("min_volume") is not None:
        min_volume = parse_amount(raw["min_volume"], 2, "min_volume", signed=False, limit=max_volume)
    prizes = _prizes(raw.get("prizes", []), max_tiers)
    ties = raw.get("ties", "first_reached")
    if ties not in TIES:
        raise InvalidCompetition("ties", f"one of {', '.join(TIES)}")
    team_size = team_top_n = None
    if raw.get("team_size") is not None:
        team_size = _positive_int(raw["team_size"], "team_size", max_team_size)
    if raw.get("team_top_n") is not None:
        if team_size is None:
            raise InvalidCompetition("team_top_n", "needs team_size")
        team_top_n = _positive_int(raw["team_top_n"], "team_top_n", team_size)
    webhook_url = raw.get("webhook_url")
    if webhook_url is not None:
        if not webhook_signing:
            raise InvalidCompetition("webhook_url", "the service has no WEBHOOK_SECRET to sign webhooks with")
        webhook_url = check_webhook_url(webhook_url, **(webhook or {}))
    return Competition(comp_id, title, metric, symbols, starts, ends, registration, min_volume, prizes, ties,
                       team_size, team_top_n, webhook_url, resolution_ms)


def address_allowed(address: str, allow_private: bool) -> bool:
    """A webhook may go to this IP address: a public unicast one, or any with `allow_private`."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return allow_private or (ip.is_global and not ip.is_multicast)


def check_webhook_url(raw: Any, *, allow_http: bool = False, allow_private: bool = False,
                      max_length: int = defaults.WEBHOOK_URL_MAX_LENGTH) -> str:
    """A competition's webhook_url, or InvalidCompetition("webhook_url"): an absolute https URL (http too with
    `allow_http`) of printable ASCII, at most `max_length` characters, no credentials, no fragment, a DNS name
    or IP literal as host (a loopback/private/... literal or `localhost` only with `allow_private`; names are
    checked again against what they resolve to at each delivery)."""
    schemes = "http or https" if allow_http else "https"
    if not isinstance(raw, str) or len(raw) > max_length:
        raise InvalidCompetition("webhook_url", f"an absolute {schemes} URL of at most {max_length} characters")
    if not WEBHOOK_PATTERN.fullmatch(raw):
        raise InvalidCompetition("webhook_url", f"an absolute {schemes} URL of printable ASCII without user:password@")
    parts = urlsplit(raw)
    if parts.scheme != "https" and not allow_http:
        raise InvalidCompetition("webhook_url", "must use https (http only in dev mode)")
    try:
        port = parts.port
    except ValueError:
        raise InvalidCompetition("webhook_url", "a port from 1 to 65535") from None
    if port == 0:
        raise InvalidCompetition("webhook_url", "a port from 1 to 65535")
    if parts.fragment or "#" in raw:
        raise InvalidCompetition("webhook_url", "no #fragment")
    host = parts.hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and not HOST_PATTERN.fullmatch(host):
        raise InvalidCompetition("webhook_url", "a DNS name or IP address as host")
    if not allow_private and (host in LOCAL_NAMES or (literal is not None
                                                      and not address_allowed(str(literal), False))):
        raise InvalidCompetition("webhook_url", "a public address (loopback, private, link-local, multicast and "
                                                "reserved addresses need WEBHOOK_ALLOW_PRIVATE)")
    return raw


def _prizes(raw: Any, max_tiers: int) -> tuple[Prize, ...]:
    if not isinstance(raw, list) or len(raw) > max_tiers:
        raise InvalidCompetition("prizes", f"a list of at most {max_tiers} tiers")
    tiers: list[Prize] = []
    for index, tier in enumerate(raw):
        field = f"prizes[{index}]"
        if not isinstance(tier, dict) or set(tier) != {"from_rank", "to_rank", "prize"}:
            raise InvalidCompetition(field, "an object {from_rank, to_rank, prize}")
        low = _positive_int(tier["from_rank"], f"{field}.from_rank", MAX_RANK)
        high = _positive_int(tier["to_rank"], f"{field}.to_rank", MAX_RANK)
        if high < low:
            raise InvalidCompetition(f"{field}.to_rank", "must not be below from_rank")
        prize = tier["prize"]
        if not isinstance(prize, str) or not 1 <= len(prize) <= 64 or not prize.isprintable():
            raise InvalidCompetition(f"{field}.prize", "1-64 printable characters")
        if any(low <= t.to_rank and t.from_rank <= high for t in tiers):
            raise InvalidCompetition(field, "overlaps another tier")
        tiers.append(Prize(low, high, prize))
    return tuple(sorted(tiers, key=lambda t: t.from_rank))
