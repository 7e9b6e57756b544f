"""Boards, periods, snapshots and the read side over them (store, reads); its refusals in errors.py.
Takes a Redis client and `Settings`; imports no web framework. Key names live in `leaderboard.keys`."""
