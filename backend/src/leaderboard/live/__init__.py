"""The live tier: the ticker that turns change marks into fresh snapshots and `update` events, and the
Server-Sent Events endpoint that pushes them to browsers."""
