"""Boards, periods and the Redis keys they live in: the only code that knows Redis key names."""
