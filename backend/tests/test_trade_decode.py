"""The trade bodies' one parser (ingest.validation.decode_trades: msgspec typed structs, with a fallback to the
rules' Python definition for what it refuses) against the way every body was read before it, as the oracle:
orjson.loads + parse_trades_for. For random bodies, valid and invalid (raw JSON text, so duplicate keys, number
spellings, escapes and broken bytes are in reach), both give the same trades, or the same error: the same
InvalidWrite (message, field, index) and trade count, or both malformed JSON. And the fast path answers every body
the oracle accepts (else the speed is gone; the one exception is a key given twice, see below), and only those."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leaderboard.config import Settings
from leaderboard.ingest.validation import (
    InvalidWrite,
    MalformedJson,
    decode_json,
    decode_trades,
    decode_trades_fast,
    parse_trades_for,
    trade_count,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
LIMITS = Settings(MAX_BATCH=4, MAX_FUTURE_SKEW_SECONDS=5)
STRICT = Settings(MAX_BATCH=4, MAX_FUTURE_SKEW_SECONDS=5, MIN_TRADE_NOTIONAL=10_000, MAX_TRADE_NOTIONAL=10**9)


def _text(value: Any) -> str:
    return json.dumps(value)


def _mostly(valid: Any, edge: Any) -> Any:
    """`valid` 9 times in 10, else `edge`."""
    return st.sampled_from(range(10)).flatmap(lambda k: edge if k == 9 else valid)


# JSON value texts per field: mostly valid, with the edge cases of each rule
IDS = _mostly(st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z").map(_text), st.one_of(
    st.sampled_from(["a", "x" * 64, "", "x" * 65, "a b", "a/b", "é", "a\n", "a|b"]).map(_text),
    st.sampled_from(['"\\u0061"', '"a\\n"', "12", "null", "true", "[]", "{}"])))
SYMBOLS = _mostly(st.sampled_from(["BTC", "ETH", "SOL", "USDC"]).map(_text),
                  st.sampled_from(['"btc"', '"DOGE"', '"BTC "', '"\\u0042TC"', "1", "null"]))
SIDES = _mostly(st.sampled_from(['"buy"', '"sell"']), st.sampled_from(['"hold"', '"Buy"', '"bu\\u0079"', "0", "null"]))
DECIMAL_TEXTS = st.from_regex(r"\A(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{1,9})?\Z")
AMOUNTS = _mostly(st.from_regex(r"\A[1-9][0-9]{0,4}(?:\.[0-9]{1,2}0*)?\Z").map(_text), st.one_of(
    DECIMAL_TEXTS, DECIMAL_TEXTS.map(_text),  # as a JSON number, and any decimal string
    st.integers(-5, 10**6).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(['"1e3"', '"-1"', '" 1"', '"1.5\\n"', '"007"', '"0x10"', '"NaN"', '""', '"1."', '".5"',
                     "1e3", "1E-2", "1.0", "1.50", "-0", "0.0", "1e-9", "1e300", "1e400", "18446744073709551616",
                     "9223372036854775808", "-9223372036854775809", "1" + "0" * 30, "1" + "0" * 400,
                     "12345678901234567",
                     '"' + "1" * 17 + '"', '"1000000000000"', '"1000000000000.01"', "true", "null", "[1]",
                     '"99999999.99"', '"0.000000001"', '"0.00000500"'])))
TS = _mostly(st.one_of(
    st.integers(NOW_MS - 10**9, NOW_MS + 10_000).map(str),
    st.datetimes(datetime(2000, 1, 1), datetime(2026, 6, 1, 12, 0, 4), timezones=st.just(UTC)).map(
        lambda d: _text(d.isoformat()))),
    st.sampled_from(['"2026-01-01T00:00:00"', '"2026-05-31T10:00:00Z"', '"2026-05-31T10:00:00+02:00"', '"yesterday"',
                     "1700000000", "1700000000.5", "null", "true", '"' + "2" * 41 + '"', "18446744073709551616",
                     "-1", str(NOW_MS + 6000), "99999999999999999999", "1" + "0" * 400]))
FIELDS = {"trade_id": IDS, "trader_id": IDS, "symbol": SYMBOLS, "side": SIDES, "quantity": AMOUNTS, "price": AMOUNTS,
          "ts": TS}


@st.composite
def trade_texts(draw: Any) -> str:
    """One trade object's JSON text: the fields in any order, sometimes one missing, one unknown or one twice."""
    names = [name for name in FIELDS if name != "ts" or draw(st.booleans())]
    if draw(st.sampled_from(range(30))) == 29:
        names.remove(draw(st.sampled_from(names)))
    pairs = [(name, draw(FIELDS[name])) for name in draw(st.permutations(names))]
    twist = draw(st.sampled_from(range(30)))
    if twist == 27:
        pairs.append((draw(st.sampled_from(["extra", "Trade_id", "trades", "tS"])), "1"))
    elif twist == 28 and pairs:
        name = draw(st.sampled_from([n for n, _ in pairs]))
        pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(FIELDS[name])))  # a duplicate key
    elif twist == 29 and pairs:
        name, value = pairs[0]
        pairs[0] = (name.replace("_", "\\u005f"), value)  # an escaped key names the same field
    return "{" + ", ".join(f'"{name}": {value}' for name, value in pairs) + "}"


@st.composite
def bodies(draw: Any) -> bytes:
    shape = draw(st.sampled_from(range(10)))
    if shape <= 3:
        text = draw(trade_texts())
    elif shape <= 7:
        items = draw(st.lists(trade_texts(), min_size=0 if shape == 7 else 1, max_size=5))
        extra = ', "more": 1' if shape == 7 and draw(st.booleans()) else ""
        text = '{"trades": [' + ", ".join(items) + "]" + extra + "}"
    else:
        text = draw(st.sampled_from(['{"trades": {}}', '{"trades": null}', "[]", "42", '"x"', "null", "{}",
                                     '{"trades": [1]}', '[{"trade_id": "a"}]', "[" * 50 + "]" * 50]))
    raw = text.encode()
    damage = draw(st.sampled_from(range(30)))
    if damage == 27 and raw:  # cut short
        raw = raw[: len(raw) - draw(st.integers(1, len(raw)))]
    elif damage == 28:  # a byte that is not UTF-8, or a lone surrogate, inside
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\\ud800", b"\x00", b"NaN"])) + raw[at:]
    elif damage == 29:
        raw = draw(st.sampled_from([b"\xef\xbb\xbf", b" ", b"\n"])) + raw + draw(st.sampled_from([b"", b" ", b"x"]))
    return raw


def _oracle(raw: bytes, limits: Settings, array: bool) -> Any:
    """What every way in answered before decode_trades: orjson, then the rules in Python."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "malformed"
    if array:
        body = {"trades": body}
    try:
        return parse_trades_for(body, NOW, limits), isinstance(body, dict) and "trades" in body
    except InvalidWrite as exc:
        return "invalid", str(exc), exc.details(), trade_count(body)


def _decoded(raw: bytes, limits: Settings, array: bool) -> Any:
    try:
        trades, is_batch = decode_trades(raw, NOW, limits, array)
    except MalformedJson:
        return "malformed"
    except InvalidWrite as exc:
        return "invalid", str(exc), exc.details(), exc.trades
    return trades, is_batch


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=bodies(), strict=st.booleans(), array=st.booleans())
@example(raw=b'{"trade_id": "a", "trader_id": "b", "symbol": "BTC", "side": "buy", "quantity": "1", "price": "100",'
             b' "ts": 18446744073709551616}', strict=False, array=False)  # orjson read it as a float
@example(raw=b'{"trades": [{"trade_id": "0", "trader_id": "0", "symbol": "BTC", "side": "buy", "quantity": "1", '
             b'"price": "1"}, {"symbol": "btc", "symbol": "BTC", "side": "buy", "trade_id": "0", "trader_id": "0", '
             b'"quantity": "1", "price": "1"}]}', strict=False, array=False)  # the last of a key twice counts
@example(raw=b'{"trade_id": "a\\n", "trader_id": "b", "symbol": "BTC", "side": "buy", "quantity": "1", '
             b'"price": "100"}', strict=False, array=False)  # '$' in a pattern would take it
def test_decode_trades_agrees_with_orjson_and_the_python_rules(raw, strict, array):
    limits = STRICT if strict else LIMITS
    if array and raw.startswith(b"{"):
        raw = b"[" + raw + b"]"  # a stream entry is an array of trades
    expected = _oracle(raw, limits, array)
    assert _decoded(raw, limits, array) == expected
    fast = decode_trades_fast(raw, NOW, limits, array)
    if isinstance(expected, tuple) and expected[0] != "invalid":
        # every accepted body on the fast path, with the same trades; but a key given twice, whose first value is
        # invalid, is refused by the typed decode (it checks each value): such a body takes the slow path
        assert fast == expected or (fast is None and _duplicate_keys(raw))
    else:
        assert fast is None


def _duplicate_keys(raw: bytes) -> bool:
    found = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({key for key, _value in items}) < len(items)
        return dict(items)

    json.loads(raw, object_pairs_hook=pairs)
    return found


def test_the_fast_path_takes_valid_bodies_of_every_form():
    """Strings and numbers, ts as ISO text and epoch ms, one trade and batches: all on the fast path."""
    trades = [{"trade_id": "t-1", "trader_id": "ann", "symbol": "BTC", "side": "buy", "quantity": "0.5",
               "price": "100.25"},
              {"trade_id": "t-2", "trader_id": "ben", "symbol": "ETH", "side": "sell", "quantity": 2, "price": 0.1,
               "ts": (NOW - timedelta(minutes=1)).isoformat()},
              {"trade_id": "t-3", "trader_id": "c.d:e_f-g", "symbol": "SOL", "side": "buy", "quantity": 1e-4,
               "price": "150", "ts": NOW_MS - 1000}]
    for body, array in [(trades[0], False), ({"trades": trades}, False), (trades, True)]:
        raw = orjson.dumps(body)
        fast = decode_trades_fast(raw, NOW, LIMITS, array)
        assert fast is not None and fast == _oracle(raw, LIMITS, array)


def test_a_batch_over_max_batch_is_the_oracles_error():
    trades = [{"trade_id": f"t-{n}", "trader_id": "ann", "symbol": "BTC", "side": "buy", "quantity": "1",
               "price": "100"} for n in range(LIMITS.MAX_BATCH + 1)]
    for body, array in [({"trades": trades}, False), (trades, True)]:
        raw = orjson.dumps(body)
        assert decode_trades_fast(raw, NOW, LIMITS, array) is None
        assert _decoded(raw, LIMITS, array) == _oracle(raw, LIMITS, array) == (
            "invalid", "trades: at most 4 trades per request", {"field": "trades", "reason": "at most 4 trades per "
                                                                "request"}, 5)


@pytest.mark.parametrize(("raw", "reason"), [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),  # orjson: depth limit exceeded
    (b'{"trade_id": "\xff"}', "utf-8"),
    (b"", "truncated"),
    (b'{"quantity": 1' + b"0" * 400 + b"}", "infinity"),  # a number beyond any float, as orjson said
    (b'{"quantity": 1e400}', "out of range"),
])
def test_malformed_bodies_are_malformed_json_with_a_reason(raw, reason):
    with pytest.raises(MalformedJson, match=reason):
        decode_json(raw)
    with pytest.raises(MalformedJson):
        decode_trades(raw, NOW, LIMITS)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)


def _decimal_reading(value: int | float, max_decimals: int, max_value: int) -> Any:
    """The rule for JSON numbers as it was written with Decimal (before integers and plain floats skipped it): the
    decimal a number prints as, normalized; (units, scale) or the error."""
    from decimal import Context, Decimal

    number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if not number.is_finite() or number <= 0:
        return "must be positive"
    if number > max_value:
        return f"must be at most {max_value}"
    exponent = number.normalize(Context(prec=60)).as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    if decimals > max_decimals:
        return f"has {decimals} decimals; at most {max_decimals} allowed"
    return int(number.scaleb(decimals, Context(prec=60))), decimals


@settings(max_examples=3000, deadline=None)
@given(value=st.one_of(st.integers(-10, 10**14), st.floats(allow_nan=False, allow_infinity=False),
                       st.decimals(0, 10**13, places=8).map(float), st.integers(1, 10**9).map(lambda n: n / 100)),
       max_decimals=st.integers(0, 18))
def test_json_numbers_read_without_decimal_as_with_it(value, max_decimals):
    from leaderboard.ingest.validation import decimal_units

    try:
        got: Any = decimal_units(value, "quantity", max_decimals, 10**12)
    except InvalidWrite as exc:
        got = exc.reason
    assert got == _decimal_reading(value, max_decimals, 10**12)
