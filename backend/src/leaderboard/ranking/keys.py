"""Moved to `leaderboard.keys` (issue 11). This alias keeps the branches in flight importing; it goes once
they have rebased (see COORD.md)."""

from ..keys import *  # noqa: F403
