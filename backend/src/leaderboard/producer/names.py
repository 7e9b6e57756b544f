"""Trader names in the style of the trading seed's petnames ("brave-otter"), made locally and deterministically
from the word lists below: the same seed and count always give the same names."""

from __future__ import annotations

import random

ADJECTIVES = (
    "able", "amber", "ancient", "bold", "brave", "bright", "brisk", "calm", "clever", "cosmic", "crisp", "daring",
    "eager", "early", "electric", "fancy", "fast", "fearless", "fond", "gentle", "giant", "glad", "golden", "grand",
    "happy", "hardy", "honest", "humble", "icy", "jolly", "keen", "kind", "lively", "lucky", "lunar", "mellow",
    "merry", "mighty", "modest", "noble", "patient", "polar", "proud", "quick", "quiet", "rapid", "rare", "regal",
    "rustic", "shiny", "silent", "smart", "solar", "steady", "stellar", "sunny", "swift", "tidy", "true", "vivid",
    "warm", "wild", "wise", "witty",
)
ANIMALS = (
    "alpaca", "badger", "bat", "bear", "beaver", "bison", "bobcat", "buffalo", "camel", "cheetah", "cobra", "condor",
    "cougar", "coyote", "crane", "deer", "dingo", "dolphin", "eagle", "falcon", "ferret", "finch", "fox", "gazelle",
    "gecko", "gibbon", "heron", "hippo", "ibex", "impala", "jackal", "jaguar", "koala", "lemur", "leopard", "lion",
    "llama", "lynx", "marlin", "marmot", "mole", "moose", "narwhal", "ocelot", "orca", "osprey", "otter", "owl",
    "panda", "panther", "pelican", "puffin", "puma", "quail", "raven", "salmon", "seal", "shark", "sloth", "stork",
    "tiger", "toucan", "walrus", "zebra",
)


def trader_names(count: int, seed: int) -> list[str]:
    """`count` distinct ids like "brave-otter"; past the 4,096 word pairs a round number is appended
    ("brave-otter-2"). Every id fits the trade charset [A-Za-z0-9_.:-] and 64 characters."""
    pairs = [f"{adjective}-{animal}" for adjective in ADJECTIVES for animal in ANIMALS]
    random.Random(f"names:{seed}").shuffle(pairs)
    names = []
    for index in range(count):
        base = pairs[index % len(pairs)]
        round_number = index // len(pairs)
        names.append(base if round_number == 0 else f"{base}-{round_number + 1}")
    return names
