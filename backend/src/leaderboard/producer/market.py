"""Realistic, reproducible trades.

- Traders: activity follows a Zipf law over the traders (a few whales trade often, most rarely) and the
  most active traders also trade the biggest sizes (Pareto size factors, largest to the most active).
- Prices: one random walk per symbol in log space around a realistic level, pulled back towards it and
  clamped to [PRICE_FLOOR_RATIO, PRICE_CEILING_RATIO] x the level, so a price never nears 0.
- Quantities: a log-normal notional (USD) times the trader's size factor, divided by the price and rounded to
  the symbol's lot (BTC fractions, USDC thousands), never below one lot.
Everything comes from one `random.Random(seed)`: the same seed gives the same trades, byte for byte.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..ranking.boards import SYMBOLS
from .names import trader_names

ZIPF_EXPONENT = 1.1  # activity of the k-th most active trader is proportional to 1 / k**ZIPF_EXPONENT
SIZE_PARETO_ALPHA = 1.5  # tail of the per-trader size factor (smaller: bigger whales)
SIZE_FACTOR_CAP = 50.0  # largest size factor a whale gets
TYPICAL_NOTIONAL_USD = 1500.0  # median notional of one trade at size factor 1
NOTIONAL_SIGMA = 0.9  # spread (log) of one trade's notional around the median
MEAN_REVERSION = 0.002  # share of the log distance to the level a price walks back per trade
PRICE_FLOOR_RATIO = 0.25  # a price never goes below this x its level
PRICE_CEILING_RATIO = 4.0  # nor above this x its level


@dataclass(frozen=True)
class SymbolMarket:
    symbol: str
    level: float  # the price the walk starts from and is pulled back to
    volatility: float  # standard deviation of one trade's log-price step
    lot_decimals: int  # quantities are multiples of 10**-lot_decimals (<= the symbol's quantity_decimals)
    popularity: float  # relative share of trades on this symbol


MARKETS: dict[str, SymbolMarket] = {
    m.symbol: m
    for m in (
        SymbolMarket("BTC", 90_000.0, 0.0008, 5, 0.35),
        SymbolMarket("ETH", 3_000.0, 0.0010, 4, 0.30),
        SymbolMarket("SOL", 150.0, 0.0015, 2, 0.15),
        SymbolMarket("USDC", 1.0, 0.00002, 0, 0.10),
        SymbolMarket("ARB", 0.80, 0.0020, 1, 0.10),
    )
}


class PriceWalk:
    """One symbol's price, one step per trade."""

    def __init__(self, market: SymbolMarket, rng: random.Random) -> None:
        self.market = market
        self.rng = rng
        self.log_level = math.log(market.level)
        self.log_price = self.log_level
        self.log_floor = math.log(market.level * PRICE_FLOOR_RATIO)
        self.log_ceiling = math.log(market.level * PRICE_CEILING_RATIO)

    def step(self) -> float:
        drift = MEAN_REVERSION * (self.log_level - self.log_price)
        moved = self.log_price + drift + self.rng.gauss(0.0, self.market.volatility)
        self.log_price = min(max(moved, self.log_floor), self.log_ceiling)
        return math.exp(self.log_price)


@dataclass(frozen=True)
class Trader:
    trader_id: str
    activity: float  # relative chance that the next trade is this trader's
    size_factor: float  # multiplies the trader's typical notional


def make_traders(count: int, seed: int, rng: random.Random) -> list[Trader]:
    names = trader_names(count, seed)
    sizes = sorted((min(rng.paretovariate(SIZE_PARETO_ALPHA), SIZE_FACTOR_CAP) for _ in names), reverse=True)
    return [
        Trader(name, 1.0 / (rank + 1) ** ZIPF_EXPONENT, size)
        for rank, (name, size) in enumerate(zip(names, sizes, strict=True))
    ]


def format_decimal(value: float, decimals: int) -> str:
    """A plain decimal string with exactly `decimals` places ("0.01230000", "1500")."""
    return f"{value:.{decimals}f}"


class TradeGenerator:
    """An endless, reproducible sequence of trades: `next_batch(n)` or iterate."""

    def __init__(self, seed: int, traders: int = 100, symbols: Sequence[str] | None = None) -> None:
        if traders < 1:
            raise ValueError("traders must be at least 1")
        chosen = list(symbols or MARKETS)
        unknown = [s for s in chosen if s not in MARKETS]
        if unknown or not chosen:
            raise ValueError(f"unknown symbol(s) {unknown}; choose from {', '.join(MARKETS)}")
        self.seed = seed
        self.rng = random.Random(seed)
        self.traders = make_traders(traders, seed, self.rng)
        self.trader_cumulative = list(itertools.accumulate(t.activity for t in self.traders))
        self.symbols = chosen
        self.symbol_cumulative = list(itertools.accumulate(MARKETS[s].popularity for s in chosen))
        self.walks = {s: PriceWalk(MARKETS[s], self.rng) for s in chosen}
        self.id_prefix = f"s{seed}-"
        self.produced = 0

    def _pick(self, cumulative: list[float]) -> int:
        return min(bisect.bisect_right(cumulative, self.rng.random() * cumulative[-1]), len(cumulative) - 1)

    def next_trade(self) -> dict[str, Any]:
        trader = self.traders[self._pick(self.trader_cumulative)]
        symbol = self.symbols[self._pick(self.symbol_cumulative)]
        market, spec = MARKETS[symbol], SYMBOLS[symbol]
        price = self.walks[symbol].step()
        notional = self.rng.lognormvariate(math.log(TYPICAL_NOTIONAL_USD), NOTIONAL_SIGMA) * trader.size_factor
        lot = 10.0**-market.lot_decimals
        quantity = max(round(notional / price, market.lot_decimals), lot)
        side = "buy" if self.rng.random() < 0.5 else "sell"
        self.produced += 1
        return {
            "trade_id": f"{self.id_prefix}{self.produced}",
            "trader_id": trader.trader_id,
            "symbol": symbol,
            "side": side,
            "quantity": format_decimal(quantity, market.lot_decimals),
            "price": format_decimal(price, spec.price_decimals),
        }

    def next_batch(self, size: int) -> list[dict[str, Any]]:
        return [self.next_trade() for _ in range(size)]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            yield self.next_trade()
