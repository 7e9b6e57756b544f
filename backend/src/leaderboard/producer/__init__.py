"""The mock trade producer: realistic, reproducible trades for demos and load.

`market` makes the trades (skewed traders, random-walk prices), `pacing` spaces them in time, `http_target`
and `stream_target` deliver batches (HTTP API or Redis Stream), `runner` ties them together with progress and a
summary.
Importing this package starts nothing.
"""
