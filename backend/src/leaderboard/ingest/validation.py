"""Validation of trades and scores, shared by the HTTP API and the stream consumer.

Everything is checked before anything is written: types, ids' length and charset, known symbol, side,
positive finite decimals with at most the symbol's decimals (JSON numbers or decimal strings, no exponent
strings), bounded magnitudes so the notional stays far below 2^53 minor units, and the event time (ISO-8601
with a timezone or integer epoch milliseconds, not more than MAX_FUTURE_SKEW_SECONDS in the future).
A batch is all-or-nothing: the first bad item is reported with its index.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Context, Decimal
from typing import Annotated, Any, Literal, NamedTuple

import msgspec

from .. import defaults
from ..config import Settings
from ..ranking.boards import SYMBOLS, Symbol, default_boards
from .writes import Trade, epoch_ms

ID_TEXT = r"[A-Za-z0-9_.:-]{1,64}"
ID_PATTERN = re.compile(rf"^{ID_TEXT}$")
ID_RULE = "1-64 characters of A-Z, a-z, 0-9, '_', '.', ':' or '-'"
# digits, an optional fraction; no sign, exponent, spaces or leading zeros ("007")
DECIMAL = r"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,18})?"
DECIMAL_TEXT = re.compile(rf"^{DECIMAL}$")
TRADE_FIELDS = frozenset({"trade_id", "trader_id", "symbol", "side", "quantity", "price", "ts"})
REQUIRED_TRADE_FIELDS = ("trade_id", "trader_id", "symbol", "side", "quantity", "price")
SIDES = ("buy", "sell")
_EXACT = Context(prec=60)  # enough digits that quantity x price is never rounded before we round it
# minor-unit decimals of the boards a trade adds to (the volume boards are declared with the defaults)
_VOLUME_DECIMALS = {board.id: board.decimals for board in default_boards() if board.kind != "game"}
# a symbol board -> the minor-unit decimals its trades' notional is counted in (its own and all-volume's)
_NOTIONAL_DECIMALS = {board: max(places, _VOLUME_DECIMALS["all-volume"]) for board, places in _VOLUME_DECIMALS.items()}
_VOLUME_UNITS = {board.id: board.unit for board in default_boards() if board.kind != "game"}
_SYMBOL_DECIMALS = {symbol: _NOTIONAL_DECIMALS[spec.board] for symbol, spec in SYMBOLS.items()}  # per trade, at once


def _amount(minor: int, board: str) -> str:
    """Minor units as a person reads them in the board's unit: 10**13 cents -> "100,000,000,000.00 USD"."""
    places = _NOTIONAL_DECIMALS[board]
    return f"{Decimal(minor).scaleb(-places):,.{places}f} {_VOLUME_UNITS[board]}"


class InvalidWrite(ValueError):
    """A write that must be refused: which field (and batch index) and why."""

    trades = 1  # how many trades the refused body carried (decode_trades sets it)

    def __init__(self, field: str, reason: str, index: int | None = None) -> None:
        self.field = field
        self.reason = reason
        self.index = index
        where = f"trades[{index}].{field}" if index is not None else field
        super().__init__(f"{where}: {reason}")

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"field": self.field, "reason": self.reason}
        if self.index is not None:
            details["index"] = self.index
        return details


def validate_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InvalidWrite(field, f"must be a string of {ID_RULE}")
    return value


def decimal_units(value: Any, field: str, max_decimals: int, max_value: int) -> tuple[int, int]:
    """A JSON number or decimal string in (0, max_value] with <= max_decimals digits, as exact integers
    (units, scale): value = units / 10**scale, with no trailing zero digits in the fraction. Decimal strings,
    what the service's clients send, are read without Decimal arithmetic (the hot path of every trade)."""
    if isinstance(value, str):
        if not DECIMAL_TEXT.fullmatch(value):
            raise InvalidWrite(field, 'must be a plain decimal string like "12.5" (no sign, exponent or spaces)')
        return decimal_text_units(value, field, max_decimals, max_value)
    if isinstance(value, bool):
        raise InvalidWrite(field, "must be a number or a decimal string, not a boolean")
    if isinstance(value, int):  # exact: no decimals
        if value <= 0:
            raise InvalidWrite(field, "must be positive")
        if value > max_value:
            raise InvalidWrite(field, f"must be at most {max_value}")
        return value, 0
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidWrite(field, "must be finite")
        text = repr(value)  # the shortest text that round-trips: 0.1 -> "0.1", not the binary value
        if DECIMAL_TEXT.fullmatch(text):  # "12.5", "0.0": read like a decimal string, without Decimal
            return decimal_text_units(text, field, max_decimals, max_value)
        number = Decimal(text)  # an exponent ("1e-05") or a sign
    else:
        raise InvalidWrite(field, "must be a number or a decimal string")
    if not number.is_finite() or number <= 0:
        raise InvalidWrite(field, "must be positive")
    if number > max_value:
        raise InvalidWrite(field, f"must be at most {max_value}")
    exponent = number.normalize(_EXACT).as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    if decimals > max_decimals:
        raise InvalidWrite(field, f"has {decimals} decimals; at most {max_decimals} allowed")
    return int(number.scaleb(decimals, _EXACT)), decimals


def decimal_text_units(value: str, field: str, max_decimals: int, max_value: int) -> tuple[int, int]:
    """`decimal_units` of a string that matches DECIMAL_TEXT (the caller checked it), in integers."""
    whole, _, fraction = value.partition(".")
    fraction = fraction.rstrip("0")
    units, scale = int(whole + fraction), len(fraction)
    if units <= 0:
        raise InvalidWrite(field, "must be positive")
    if units > max_value * 10**scale:
        raise InvalidWrite(field, f"must be at most {max_value}")
    if scale > max_decimals:
        raise InvalidWrite(field, f"has {scale} decimals; at most {max_decimals} allowed")
    return units, scale


def product_minor_units(a: tuple[int, int], b: tuple[int, int], decimals: int) -> int:
    """(units, scale) x (units, scale) rounded half-up to 10^-decimals, in integers: exact like Decimal
    (both factors are positive)."""
    product, scale = a[0] * b[0], a[1] + b[1]
    if scale <= decimals:
        return product * 10 ** (decimals - scale)
    divisor = 10 ** (scale - decimals)
    return (product + divisor // 2) // divisor


def parse_event_time(value: Any, now: datetime, max_future_skew_s: int, field: str = "ts") -> int:
    """Epoch milliseconds of an ISO-8601 time with a timezone or integer epoch ms; now when absent."""
    if value is None:
        return epoch_ms(now)
    if isinstance(value, (bool, float)):
        raise InvalidWrite(field, "must be an ISO-8601 string with a timezone or integer epoch milliseconds")
    if isinstance(value, int):
        ts_ms = value
    elif isinstance(value, str):
        if len(value) > 40:
            raise InvalidWrite(field, "is too long for an ISO-8601 time")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidWrite(field, "is not an ISO-8601 time") from None
        if parsed.tzinfo is None:
            raise InvalidWrite(field, "needs a timezone (e.g. 'Z' or '+00:00')")
        ts_ms = epoch_ms(parsed)
    else:
        raise InvalidWrite(field, "must be an ISO-8601 string with a timezone or integer epoch milliseconds")
    if ts_ms < defaults.MIN_EVENT_TS_MS:
        raise InvalidWrite(field, "is before 2000-01-01 (epoch milliseconds expected, not seconds?)")
    if ts_ms > epoch_ms(now) + max_future_skew_s * 1000:
        raise InvalidWrite(field, f"is more than {max_future_skew_s} s in the future")
    return ts_ms


def parse_trade(raw: Any, now: datetime, max_future_skew_s: int, max_notional_minor: int,
                now_ms: int | None = None, min_notional_minor: int = defaults.MIN_TRADE_NOTIONAL) -> Trade:
    """One trade object -> Trade, or InvalidWrite naming the first bad field. `now_ms`: `now` in epoch
    milliseconds, when the caller (a batch) has it already."""
    if not isinstance(raw, dict):
        raise InvalidWrite("trade", "must be a JSON object")
    if not TRADE_FIELDS.issuperset(raw):
        raise InvalidWrite(sorted(set(raw) - TRADE_FIELDS)[0], "unknown field")
    for name in REQUIRED_TRADE_FIELDS:
        if name not in raw:
            raise InvalidWrite(name, "is required")
    trade_id = validate_id(raw["trade_id"], "trade_id")
    trader_id = validate_id(raw["trader_id"], "trader_id")
    symbol = SYMBOLS.get(raw["symbol"]) if isinstance(raw["symbol"], str) else None
    if symbol is None:
        raise InvalidWrite("symbol", f"must be one of {', '.join(SYMBOLS)}")
    if raw["side"] not in SIDES:
        raise InvalidWrite("side", "must be 'buy' or 'sell'")
    quantity = decimal_units(raw["quantity"], "quantity", symbol.quantity_decimals, defaults.MAX_TRADE_QUANTITY)
    price = decimal_units(raw["price"], "price", symbol.price_decimals, defaults.MAX_TRADE_PRICE)
    ts = raw.get("ts")
    if ts is None and "ts" in raw:
        raise InvalidWrite("ts", "must be an ISO-8601 string or epoch milliseconds; leave it out for now")
    ts_ms = now_ms if ts is None and now_ms is not None else parse_event_time(ts, now, max_future_skew_s)
    return _trade(trade_id, trader_id, symbol, raw["side"], quantity, price, None if ts is None else ts_ms,
                  ts_ms, max_notional_minor, min_notional_minor)


def _trade(trade_id: str, trader_id: str, symbol: Symbol, side: str, quantity: tuple[int, int],
           price: tuple[int, int], given_ts_ms: int | None, ts_ms: int, max_notional_minor: int,
           min_notional_minor: int) -> Trade:
    """The trade of valid fields, once its notional is within the limits (InvalidWrite "notional" if not)."""
    minor = product_minor_units(quantity, price, _SYMBOL_DECIMALS[symbol.symbol])
    if minor > max_notional_minor:
        raise InvalidWrite("notional", f"quantity x price = {_amount(minor, symbol.board)} is above the limit of "
                           f"{_amount(max_notional_minor, symbol.board)} per trade (MAX_TRADE_NOTIONAL)")
    if minor < min_notional_minor:
        raise InvalidWrite("notional", f"quantity x price = {_amount(minor, symbol.board)} is below the minimum of "
                           f"{_amount(min_notional_minor, symbol.board)} per trade (MIN_TRADE_NOTIONAL): it would "
                           "add nothing to the board")
    # the content a retry must repeat: "1.50" and 1.5 are the same quantity; an absent ts stays absent (a
    # retry without ts is the same trade although the server's clock moved)
    content = (f"{symbol.symbol}|{side}|{quantity[0]}e{quantity[1]}|{price[0]}e{price[1]}|"
               f"{'' if given_ts_ms is None else given_ts_ms}")
    return Trade(trade_id, trader_id, symbol.symbol, side, ts_ms, minor, content)


def trade_items(body: Any, max_batch: int) -> tuple[list[Any], bool]:
    """The trade objects of a body (one trade, or {"trades": [...]}) and whether it was a batch."""
    if isinstance(body, dict) and "trades" in body:
        extra = sorted(set(body) - {"trades"})
        if extra:
            raise InvalidWrite(extra[0], "unknown field (a batch body has only 'trades')")
        items = body["trades"]
        if not isinstance(items, list) or not items:
            raise InvalidWrite("trades", "must be a non-empty array")
        if len(items) > max_batch:
            raise InvalidWrite("trades", f"at most {max_batch} trades per request")
        return items, True
    return [body], False


def parse_trades_for(body: Any, now: datetime, settings: Settings) -> list[Trade]:
    """`parse_trades` under the service's limits (MAX_BATCH, MAX_FUTURE_SKEW_SECONDS, MAX/MIN_TRADE_NOTIONAL): what
    every way in (the API's view and its native path, the stream and Kafka consumers) accepts."""
    return parse_trades(body, now, settings.MAX_BATCH, settings.MAX_FUTURE_SKEW_SECONDS, settings.MAX_TRADE_NOTIONAL,
                        settings.MIN_TRADE_NOTIONAL)


def parse_trades(body: Any, now: datetime, max_batch: int, max_future_skew_s: int, max_notional: int,
                 min_notional: int = defaults.MIN_TRADE_NOTIONAL) -> list[Trade]:
    """Every trade of a body, or InvalidWrite for the first bad one (with its index in a batch)."""
    items, is_batch = trade_items(body, max_batch)
    trades = []
    now_ms = epoch_ms(now)
    for index, item in enumerate(items):
        try:
            trades.append(parse_trade(item, now, max_future_skew_s, max_notional, now_ms, min_notional))
        except InvalidWrite as exc:
            if is_batch:
                raise InvalidWrite(exc.field, exc.reason, index) from None
            raise
    return trades


def parse_score(value: Any, max_score: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidWrite("score", "must be an integer")
    if not 0 <= value <= max_score:
        raise InvalidWrite("score", f"must be between 0 and {max_score}")
    return value


# --- Trade bodies decoded once, by msgspec ---------------------------------------------------------------------
# Every trade body (POST /v1/trades in the view and its native path, the stream's entries, Kafka messages) is
# read by one JSON parser, msgspec, straight into typed structs: types, unknown and missing fields, the ids'
# length, the symbol and the side are checked in C; the ids' characters and the decimal strings by one regex per
# trade (msgspec's own `pattern` calls Python's re per field, 4x slower); what is left per trade (minor units,
# event time, notional) is the same Python as `parse_trade`'s. Whatever the typed decode or those checks refuse
# is decoded again by msgspec without types and handed to `parse_trades` (the rules' one definition, also the
# oracle of tests/test_trade_decode.py), which says what is wrong with the same error as always; a body it
# accepts after all is accepted.

INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1  # the integers JSON numbers are read as; others become floats
_IDS_TEXT = re.compile(rf"{ID_TEXT}\|{ID_TEXT}")  # "trade_id|trader_id" ('|' is in neither)
_TRADE_TEXT = re.compile(rf"{ID_TEXT}\|{ID_TEXT}\|{DECIMAL}\|{DECIMAL}")  # ... "|quantity|price"


class MalformedJson(ValueError):
    """A body that is not JSON (or nests deeper than Python's recursion limit allows)."""

    trades = 1


_ID_TYPE = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# a JSON number too big for its limit fails in the typed decode (as in decimal_units): no huge int reaches Python
_TRADE_TYPES: list[tuple[str, Any]] = [
    ("trade_id", _ID_TYPE), ("trader_id", _ID_TYPE),
    ("symbol", Literal[tuple(SYMBOLS)]), ("side", Literal[SIDES]),  # type: ignore[valid-type]
    ("quantity", str | Annotated[int, msgspec.Meta(le=defaults.MAX_TRADE_QUANTITY)] | float),
    ("price", str | Annotated[int, msgspec.Meta(le=defaults.MAX_TRADE_PRICE)] | float),
    ("ts", str | int | msgspec.UnsetType, msgspec.UNSET)]  # type: ignore[list-item]
_TradeStruct = msgspec.defstruct("TradeStruct", _TRADE_TYPES, forbid_unknown_fields=True)
# a body is one trade or {"trades": [...]}: one struct with every field optional tells them apart
_BodyStruct = msgspec.defstruct(
    "TradeBodyStruct", [("trades", list[_TradeStruct] | msgspec.UnsetType, msgspec.UNSET),  # type: ignore[valid-type]
                        *[(name, kind | msgspec.UnsetType, msgspec.UNSET) for name, kind, *_ in _TRADE_TYPES]],
    forbid_unknown_fields=True)
_BODY = msgspec.json.Decoder(_BodyStruct)
_ARRAY = msgspec.json.Decoder(list[_TradeStruct])  # type: ignore[valid-type]
_ANY = msgspec.json.Decoder()


class TradeBody(NamedTuple):
    trades: list[Trade]
    is_batch: bool


def decode_trades(raw: bytes, now: datetime, settings: Settings, array: bool = False) -> TradeBody:
    """The trades of a body (`array`: the stream's JSON array of trades, checked as `{"trades": [...]}`), under the
    service's limits, like `parse_trades_for`. Raises MalformedJson or InvalidWrite, whose `trades` is how many
    trades the refused body carried."""
    fast = decode_trades_fast(raw, now, settings, array)
    if fast is not None:
        return fast
    body = decode_json(raw)
    if array:
        body = {"trades": body}
    try:
        return TradeBody(parse_trades_for(body, now, settings), isinstance(body, dict) and "trades" in body)
    except InvalidWrite as exc:
        exc.trades = trade_count(body)
        raise


def decode_trades_fast(raw: bytes, now: datetime, settings: Settings, array: bool = False) -> TradeBody | None:
    """`decode_trades` of a body every trade of which is valid; None for anything else (`decode_trades` then
    finds the error)."""
    try:
        if array:
            items, is_batch = _ARRAY.decode(raw), True
        else:
            body: Any = _BODY.decode(raw)
            items = body.trades
            fields = (body.trade_id, body.trader_id, body.symbol, body.side, body.quantity, body.price)
            if items is msgspec.UNSET:  # one trade: every required field given
                if msgspec.UNSET in fields:
                    return None
                items, is_batch = [body], False
            elif fields.count(msgspec.UNSET) != len(fields) or body.ts is not msgspec.UNSET:  # a batch: "trades" only
                return None
            else:
                is_batch = True
        if not items or len(items) > settings.MAX_BATCH:
            return None
        return TradeBody(_fast_trades(items, now, settings), is_batch)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, InvalidWrite):
        return None


def _fast_trades(items: list[Any], now: datetime, settings: Settings) -> list[Trade]:
    """The trades of structs the typed decode accepted; InvalidWrite for the first one `parse_trade` refuses."""
    now_ms = epoch_ms(now)
    skew, max_notional, min_notional = (settings.MAX_FUTURE_SKEW_SECONDS, settings.MAX_TRADE_NOTIONAL,
                                        settings.MIN_TRADE_NOTIONAL)
    max_quantity, max_price = defaults.MAX_TRADE_QUANTITY, defaults.MAX_TRADE_PRICE
    trades = []
    for item in items:
        symbol = SYMBOLS[item.symbol]
        trade_id, trader_id, quantity, price = item.trade_id, item.trader_id, item.quantity, item.price
        if type(quantity) is str and type(price) is str:  # the common case: one regex for the four strings
            if _TRADE_TEXT.fullmatch(f"{trade_id}|{trader_id}|{quantity}|{price}") is None:
                raise InvalidWrite("trade", "a pattern")
            quantity = decimal_text_units(quantity, "quantity", symbol.quantity_decimals, max_quantity)
            price = decimal_text_units(price, "price", symbol.price_decimals, max_price)
        else:
            if _IDS_TEXT.fullmatch(f"{trade_id}|{trader_id}") is None:
                raise InvalidWrite("trade", "a pattern")
            quantity = decimal_units(quantity, "quantity", symbol.quantity_decimals, max_quantity)
            price = decimal_units(price, "price", symbol.price_decimals, max_price)
        ts = item.ts
        given = None if ts is msgspec.UNSET else parse_event_time(ts, now, skew)
        trades.append(_trade(trade_id, trader_id, symbol, item.side, quantity, price, given,
                             now_ms if given is None else given, max_notional, min_notional))
    return trades


def decode_json(raw: bytes) -> Any:
    """A trade body without types (msgspec, the same parser as the typed decode), numbers read as before: an
    integer outside the 64-bit range is the float it rounds to, and one beyond the float range is malformed.
    MalformedJson with the parser's reason."""
    try:
        return _numbers(_ANY.decode(raw))
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise MalformedJson(str(exc)) from None
    except RecursionError:
        raise MalformedJson("nested too deeply") from None


def _numbers(value: Any) -> Any:
    if type(value) is int:
        if INT64_MIN <= value <= UINT64_MAX:
            return value
        try:
            return float(value)
        except OverflowError:
            raise MalformedJson("number is infinity when parsed as a float") from None
    if type(value) is list:
        return [_numbers(item) for item in value]
    if type(value) is dict:
        return {key: _numbers(item) for key, item in value.items()}
    return value


def trade_count(body: Any) -> int:
    """Trades a refused body carried: a batch's length, else 1."""
    if isinstance(body, dict) and isinstance(body.get("trades"), list) and body["trades"]:
        return len(body["trades"])
    return 1
