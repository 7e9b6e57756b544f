"""The producer's trades: reproducible, skewed, realistic, and always valid by the documented field rules."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

import orjson
import pytest

from leaderboard.producer.market import MARKETS, PRICE_CEILING_RATIO, PRICE_FLOOR_RATIO, PriceWalk, TradeGenerator
from leaderboard.producer.names import trader_names
from leaderboard.ranking.boards import SYMBOLS

from .helpers import ID_RE, assert_valid_trade


def test_same_seed_same_trades_byte_for_byte_and_other_seeds_differ():
    first = orjson.dumps(TradeGenerator(7, traders=200).next_batch(3000))
    again = orjson.dumps(TradeGenerator(7, traders=200).next_batch(3000))
    other = orjson.dumps(TradeGenerator(8, traders=200).next_batch(3000))
    assert first == again
    assert first != other
    assert orjson.loads(first)[0]["trade_id"] != orjson.loads(other)[0]["trade_id"]


def test_every_trade_passes_the_field_rules_and_ids_are_unique():
    trades = TradeGenerator(1, traders=50).next_batch(20_000)
    for trade in trades:
        assert_valid_trade(trade)
    assert len({t["trade_id"] for t in trades}) == len(trades)
    assert {t["symbol"] for t in trades} == set(SYMBOLS)


def test_a_few_whales_hold_most_of_the_notional():
    trades = TradeGenerator(3, traders=100).next_batch(20_000)
    notional: dict[str, Decimal] = defaultdict(Decimal)
    for t in trades:
        notional[t["trader_id"]] += Decimal(t["quantity"]) * Decimal(t["price"])
    ranked = sorted(notional.values(), reverse=True)
    top_share = sum(ranked[:10]) / sum(ranked)
    assert top_share > Decimal("0.5"), top_share
    assert len(notional) > 60  # many small traders still trade


def test_quantities_fit_the_symbol():
    trades = TradeGenerator(5, traders=100).next_batch(20_000)
    median = {}
    for symbol in SYMBOLS:
        quantities = sorted(Decimal(t["quantity"]) for t in trades if t["symbol"] == symbol)
        median[symbol] = quantities[len(quantities) // 2]
    assert median["BTC"] < 1  # fractions of a bitcoin
    assert median["USDC"] >= 100  # hundreds to thousands of dollars
    assert median["ETH"] < median["SOL"] < median["ARB"]


@pytest.mark.parametrize("symbol", list(MARKETS))
def test_price_walk_stays_sane_over_100k_steps(symbol):
    import random

    market = MARKETS[symbol]
    walk = PriceWalk(market, random.Random(11))
    decimals = SYMBOLS[symbol].price_decimals
    low, high = market.level * PRICE_FLOOR_RATIO, market.level * PRICE_CEILING_RATIO
    prices = [walk.step() for _ in range(100_000)]
    assert low <= min(prices) and max(prices) <= high
    assert Decimal(f"{min(prices):.{decimals}f}") > 0
    # it wanders, but around its level
    assert 0.5 * market.level < sum(prices) / len(prices) < 2 * market.level
    assert max(prices) != min(prices)


def test_trader_names_are_deterministic_distinct_petnames():
    names = trader_names(5000, seed=2)
    assert names == trader_names(5000, seed=2)
    assert names != trader_names(5000, seed=3)
    assert len(set(names)) == 5000
    assert all(ID_RE.match(n) for n in names)
    assert re.match(r"^[a-z]+-[a-z]+$", names[0])


def test_restricted_symbols_and_bad_arguments():
    trades = TradeGenerator(4, traders=10, symbols=["BTC", "ARB"]).next_batch(500)
    assert {t["symbol"] for t in trades} == {"BTC", "ARB"}
    with pytest.raises(ValueError, match="unknown symbol"):
        TradeGenerator(4, symbols=["DOGE"])
    with pytest.raises(ValueError, match="traders"):
        TradeGenerator(4, traders=0)
