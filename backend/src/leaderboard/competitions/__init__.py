"""Trading competitions: a window by event time, sign-up, qualification, prizes, fair ties, teams,
moderation, and a final result that is frozen and announced by a signed webhook (see the README)."""
